#include "auth/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <jwt/jwt.hpp>
#include <tuple>

using namespace std::chrono_literals;
using namespace std::string_view_literals;
using natsync::AuthError;
using natsync::ErrorCode;
using natsync::Identity;
using natsync::JwtVerifier;

namespace {

constexpr const char* kSecret = "test-secret-0123456789";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string make_token(const nlohmann::json& claims, const std::string& alg = "HS256",
                       const std::string& secret = kSecret) {
  jwt::jwt_object token{jwt::params::algorithm(alg), jwt::params::secret(secret)};
  for (auto it = claims.begin(); it != claims.end(); ++it) {
    if (it->is_string()) {
      token.add_claim(it.key(), it->get<std::string>());
    } else {
      token.add_claim(it.key(), it->get<std::int64_t>());
    }
  }
  return token.signature();
}

ErrorCode refused(const JwtVerifier& verifier, const std::string& token) {
  auto result = verifier.verify(token, std::chrono::system_clock::now());
  if (!std::holds_alternative<AuthError>(result)) {
    ADD_FAILURE() << "accepted: " << token;
    return ErrorCode::internal_error;
  }
  EXPECT_FALSE(std::get<AuthError>(result).message.empty());
  return std::get<AuthError>(result).code;
}

}  // namespace

TEST(JwtVerifier, AcceptsAValidToken) {
  JwtVerifier verifier(kSecret, 0s);
  const auto exp = unix_now() + 3600;
  auto result =
      verifier.verify(make_token({{"sub", "user123"}, {"exp", exp}}), std::chrono::system_clock::now());
  ASSERT_TRUE(std::holds_alternative<Identity>(result));
  const auto& identity = std::get<Identity>(result);
  EXPECT_EQ(identity.user_id, "user123");
  ASSERT_TRUE(identity.expires.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(identity.expires->time_since_epoch()).count(),
            exp);
}

TEST(JwtVerifier, TokenWithoutExpiryHasNoDeadline) {
  JwtVerifier verifier(kSecret, 0s);
  auto result = verifier.verify(make_token({{"sub", "u"}}), std::chrono::system_clock::now());
  ASSERT_TRUE(std::holds_alternative<Identity>(result));
  EXPECT_FALSE(std::get<Identity>(result).expires.has_value());
}

TEST(JwtVerifier, EnforcesTimeClaims) {
  JwtVerifier verifier(kSecret, 0s);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"exp", unix_now() - 10}})),
            ErrorCode::token_expired);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"nbf", unix_now() + 600}})), ErrorCode::auth_failed);
  // The injected clock decides: valid now, expired an hour later.
  const auto token = make_token({{"sub", "u"}, {"exp", unix_now() + 60}});
  auto later = verifier.verify(token, std::chrono::system_clock::now() + 1h);
  ASSERT_TRUE(std::holds_alternative<AuthError>(later));
  EXPECT_EQ(std::get<AuthError>(later).code, ErrorCode::token_expired);
}

TEST(JwtVerifier, MistypedOrExtremeTimeClaims) {
  JwtVerifier verifier(kSecret, 0s);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"exp", "tomorrow"}})), ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"nbf", "yesterday"}})), ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"exp", -5}})), ErrorCode::token_expired);
  // Far-future expiry: accepted, with the deadline clamped to year 2255.
  auto result = verifier.verify(make_token({{"sub", "u"}, {"exp", 9000000000000000000ULL}}),
                                std::chrono::system_clock::now());
  ASSERT_TRUE(std::holds_alternative<Identity>(result));
  EXPECT_EQ(std::get<Identity>(result).expires->time_since_epoch(), std::chrono::seconds(9000000000));
}

TEST(JwtVerifier, LeewayForgivesSmallSkew) {
  JwtVerifier verifier(kSecret, 30s);
  auto result =
      verifier.verify(make_token({{"sub", "u"}, {"exp", unix_now() - 5}}), std::chrono::system_clock::now());
  EXPECT_TRUE(std::holds_alternative<Identity>(result));
}

TEST(JwtVerifier, RefusesOtherAlgorithmsAndNone) {
  JwtVerifier verifier(kSecret, 0s);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}}, "HS384")), ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}}, "HS512")), ErrorCode::auth_failed);
  // {"alg":"none","typ":"JWT"}.{"sub":"u1"}. with and without a signature part.
  EXPECT_EQ(refused(verifier, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSJ9."),
            ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSJ9"),
            ErrorCode::auth_failed);
  // {"alg":"NONE"} spelled otherwise.
  EXPECT_EQ(refused(verifier, "eyJhbGciOiJOb05lIn0.eyJzdWIiOiJ1MSJ9."), ErrorCode::auth_failed);
}

TEST(JwtVerifier, RefusesBadSignaturesAndClaims) {
  JwtVerifier verifier(kSecret, 0s);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}}, "HS256", "another-secret")), ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"name", "no sub"}})), ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", 12345}})), ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", ""}})), ErrorCode::auth_failed);

  // Payload swapped for another user's, signature kept.
  auto token = make_token({{"sub", "alice"}});
  auto other = make_token({{"sub", "mallory"}});
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  const auto forged = token.substr(0, dot1) +
                      other.substr(other.find('.'), other.rfind('.') - other.find('.')) + token.substr(dot2);
  EXPECT_EQ(refused(verifier, forged), ErrorCode::auth_failed);
}

TEST(JwtVerifier, HostileTokensNeverCrash) {
  JwtVerifier verifier(kSecret, 0s);
  for (const std::string& garbage : {std::string(""),
                                     std::string("."),
                                     std::string(".."),
                                     std::string("a.b.c"),
                                     std::string("...."),
                                     std::string("e30.e30.e30"),
                                     std::string("!!!.@@@.###"),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig"),
                                     std::string("eyJhbGciOjF9.e30.x"),
                                     std::string("W10.W10.W10"),
                                     std::string(100000, 'A'),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.") + std::string(5000, '/') + ".x",
                                     std::string("\xff\xfe.\x00.\x01"sv),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.\xc3\xa9\xff\x80.abcd"),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.e30=.abcd"),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.e30.ab+/"),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.e30.a"),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.e30."),
                                     std::string("eyJhbGciOiJIUzI1NiJ9.e30.abcd.efgh"),
                                     std::string(" eyJhbGciOiJIUzI1NiJ9.e30.abcd")}) {
    EXPECT_EQ(refused(verifier, garbage), ErrorCode::auth_failed) << garbage.substr(0, 40);
  }
}

namespace {

// A fresh key pair as PEM: {private, public}.
std::pair<std::string, std::string> generate_keys(const char* type, const char* parameter) {
  EVP_PKEY* key = std::string_view(type) == "RSA"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", parameter);
  EXPECT_NE(key, nullptr);
  const auto to_pem = [key](bool is_private) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (is_private) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const auto length = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return pem;
  };
  auto pair = std::make_pair(to_pem(true), to_pem(false));
  EVP_PKEY_free(key);
  return pair;
}

natsync::JwtSettings public_key_settings(const std::string& public_pem) {
  natsync::JwtSettings settings;
  settings.public_key_pem = public_pem;
  return settings;
}

}  // namespace

TEST(JwtVerifier, AcceptsRs256AndEs256WithAPublicKey) {
  for (const auto& [type, curve, alg] :
       {std::tuple{"RSA", "", "RS256"}, std::tuple{"EC", "P-256", "ES256"}}) {
    const auto [private_pem, public_pem] = generate_keys(type, curve);
    std::string error;
    EXPECT_EQ(natsync::public_key_algorithm(public_pem, error), alg) << error;
    JwtVerifier verifier(public_key_settings(public_pem));
    auto result =
        verifier.verify(make_token({{"sub", "keyed"}}, alg, private_pem), std::chrono::system_clock::now());
    ASSERT_TRUE(std::holds_alternative<Identity>(result)) << std::get<AuthError>(result).message;
    EXPECT_EQ(std::get<Identity>(result).user_id, "keyed");
    // Signed by another key of the same type: refused.
    const auto other = generate_keys(type, curve);
    EXPECT_EQ(refused(verifier, make_token({{"sub", "keyed"}}, alg, other.first)), ErrorCode::auth_failed);
    // HS256 is not accepted without a secret, and above all not with the public key as
    // its secret (the classic algorithm-confusion forgery).
    EXPECT_EQ(refused(verifier, make_token({{"sub", "keyed"}}, "HS256", public_pem)), ErrorCode::auth_failed);
  }
}

TEST(JwtVerifier, PublicKeyTypesOtherThanRsa2048AndP256AreRejected) {
  std::string error;
  EXPECT_TRUE(natsync::public_key_algorithm("not a key", error).empty());
  EXPECT_FALSE(error.empty());
  const auto p384 = generate_keys("EC", "P-384");
  error.clear();
  EXPECT_TRUE(natsync::public_key_algorithm(p384.second, error).empty());
  EXPECT_NE(error.find("P-256"), std::string::npos) << error;
}

TEST(JwtVerifier, SecretAndPublicKeyTogetherAcceptBothAlgorithms) {
  const auto [private_pem, public_pem] = generate_keys("EC", "P-256");
  natsync::JwtSettings settings = public_key_settings(public_pem);
  settings.hs256_secret = kSecret;
  JwtVerifier verifier(settings);
  EXPECT_TRUE(std::holds_alternative<Identity>(
      verifier.verify(make_token({{"sub", "a"}}, "ES256", private_pem), std::chrono::system_clock::now())));
  EXPECT_TRUE(std::holds_alternative<Identity>(
      verifier.verify(make_token({{"sub", "b"}}), std::chrono::system_clock::now())));
  EXPECT_EQ(refused(verifier, make_token({{"sub", "c"}}, "HS384")), ErrorCode::auth_failed);
}

TEST(JwtVerifier, AudienceAndIssuerWhenConfigured) {
  natsync::JwtSettings settings;
  settings.hs256_secret = kSecret;
  settings.audience = "natsync";
  settings.issuer = "https://auth.example";
  JwtVerifier verifier(settings);
  const auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(std::holds_alternative<Identity>(
      verifier.verify(make_token({{"sub", "u"}, {"aud", "natsync"}, {"iss", "https://auth.example"}}), now)));
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"aud", "other"}, {"iss", "https://auth.example"}})),
            ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"aud", "natsync"}})), ErrorCode::auth_failed);
  EXPECT_EQ(
      refused(verifier, make_token({{"sub", "u"}, {"aud", "natsync"}, {"iss", "https://evil.example"}})),
      ErrorCode::auth_failed);
  EXPECT_EQ(refused(verifier, make_token({{"sub", "u"}, {"iss", "https://auth.example"}})),
            ErrorCode::auth_failed);
}
