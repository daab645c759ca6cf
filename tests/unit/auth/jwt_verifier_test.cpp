#include "auth/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <jwt/jwt.hpp>

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
