#include "auth/jwt_verifier.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <jwt/jwt.hpp>
#include <memory>

namespace natsync {
namespace {

constexpr std::size_t kMaxTokenLength = std::size_t{8} * 1024;

// The latest `exp` kept as is (year 2255); later values are clamped to it, because
// system_clock counts nanoseconds in 64 bits and ends in 2262.
constexpr double kLatestExpiry = 9'000'000'000.0;

AuthError failed(std::string message) { return AuthError{ErrorCode::auth_failed, std::move(message)}; }

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A JWS in compact form is three non-empty base64url segments (no padding) joined by
// dots. cpp-jwt 1.4's base64 decoder indexes its table with a plain `char`, so a byte
// >= 0x80 reads out of bounds, and characters outside the alphabet shift negative
// values: only well-formed tokens may reach it.
bool has_compact_jws_shape(std::string_view token) {
  std::size_t dots = 0;
  std::size_t segment = 0;
  for (const char c : token) {
    if (c == '.') {
      if (segment == 0 || segment % 4 == 1) return false;
      ++dots;
      segment = 0;
    } else if (is_base64url(c)) {
      ++segment;
    } else {
      return false;
    }
  }
  return dots == 2 && segment != 0 && segment % 4 != 1;
}

// The "alg" of the token's header (the first segment), or empty.
std::string header_algorithm(std::string_view token) {
  const auto header = token.substr(0, token.find('.'));
  const auto json =
      nlohmann::json::parse(jwt::base64_uri_decode(header.data(), header.size()), nullptr, false);
  if (!json.is_object() || !json.contains("alg") || !json["alg"].is_string()) return {};
  return json["alg"].get<std::string>();
}

// The "topics" claim: {"subscribe": [patterns], "publish": [patterns]}; a missing list
// allows nothing of that kind. Nullopt when it is malformed.
std::optional<TopicPermissions> parse_topics_claim(const nlohmann::json& claim) {
  if (!claim.is_object()) return std::nullopt;
  TopicPermissions permissions;
  for (const auto& [key, target] :
       {std::pair{"subscribe", &permissions.subscribe}, std::pair{"publish", &permissions.publish}}) {
    if (!claim.contains(key)) continue;
    const auto& list = claim[key];
    if (!list.is_array() || list.size() > 256) return std::nullopt;
    for (const auto& item : list) {
      if (!item.is_string()) return std::nullopt;
      auto pattern = TopicPattern::parse(item.get<std::string>());
      if (!pattern) return std::nullopt;
      target->push_back(std::move(*pattern));
    }
  }
  return permissions;
}

// Whether a claim is the string `wanted`, or an array holding it.
bool claim_holds(const nlohmann::json& claim, const std::string& wanted) {
  if (claim.is_string()) return claim.get<std::string>() == wanted;
  return claim.is_array() && std::any_of(claim.begin(), claim.end(), [&](const nlohmann::json& item) {
           return item.is_string() && item.get<std::string>() == wanted;
         });
}

// "role" (a string) or "roles" (an array) holds `role`.
bool has_role(const nlohmann::json& payload, const std::string& role) {
  if (role.empty()) return false;
  if (payload.contains("role") && payload["role"].is_string() && claim_holds(payload["role"], role))
    return true;
  return payload.contains("roles") && payload["roles"].is_array() && claim_holds(payload["roles"], role);
}

}  // namespace

std::string public_key_algorithm(std::string_view pem, std::string& error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
  if (!key) {
    error = "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
    return {};
  }
  if (EVP_PKEY_base_id(key.get()) == EVP_PKEY_RSA) {
    if (EVP_PKEY_bits(key.get()) < 2048) {
      error = "RSA key is shorter than 2048 bits";
      return {};
    }
    return "RS256";
  }
  if (EVP_PKEY_base_id(key.get()) == EVP_PKEY_EC) {
    char curve[64] = {0};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), "group", curve, sizeof(curve), &length) == 1 &&
        std::string_view(curve, length) == "prime256v1") {
      return "ES256";
    }
    error = "EC key is not on curve P-256 (ES256)";
    return {};
  }
  error = "key type is neither RSA nor EC";
  return {};
}

JwtVerifier::JwtVerifier(JwtSettings settings) : settings_(std::move(settings)) {
  if (!settings_.public_key_pem.empty()) {
    std::string error;
    public_key_alg_ = public_key_algorithm(settings_.public_key_pem, error);
  }
}

std::variant<Identity, AuthError> JwtVerifier::verify(std::string_view token, SystemTime now) const {
  if (token.empty()) return failed("token is empty");
  if (token.size() > kMaxTokenLength) return failed("token is longer than 8 KiB");
  if (!has_compact_jws_shape(token)) {
    return failed("token is malformed: expected three base64url segments separated by dots");
  }
  // cpp-jwt checks alg and exp/nbf (against the real clock) *before* the signature,
  // and stops at the first failure; so a success means alg, times and signature all
  // held. The time claims are then checked again against `now`, which keeps our
  // behaviour defined by the injected clock.
  try {
    // The key is chosen by the configuration for the header's alg, and cpp-jwt is told
    // to accept that alg only: a token cannot get an HS256 check against the public key.
    const auto alg = header_algorithm(token);
    if (alg == "none") return failed("token algorithm 'none' is refused");
    const std::string* key = nullptr;
    if (alg == "HS256" && !settings_.hs256_secret.empty()) key = &settings_.hs256_secret;
    if (!alg.empty() && alg == public_key_alg_) key = &settings_.public_key_pem;
    if (key == nullptr) {
      std::string accepted = settings_.hs256_secret.empty() ? "" : "HS256";
      if (!public_key_alg_.empty()) accepted += (accepted.empty() ? "" : ", ") + public_key_alg_;
      return failed("token algorithm '" + alg.substr(0, 16) + "' is not accepted (only " + accepted + ")");
    }
    std::error_code ec;
    auto decoded = jwt::decode(jwt::string_view(token.data(), token.size()), jwt::params::algorithms({alg}),
                               ec, jwt::params::secret(*key), jwt::params::verify(true),
                               jwt::params::leeway(static_cast<std::uint32_t>(settings_.leeway.count())));
    if (ec) {
      if (ec == jwt::VerificationErrc::InvalidAlgorithm) return failed("token algorithm is not accepted");
      if (ec == jwt::VerificationErrc::InvalidSignature) return failed("token signature is invalid");
      if (ec == jwt::VerificationErrc::TokenExpired) {
        return AuthError{ErrorCode::token_expired, "token has expired"};
      }
      if (ec == jwt::VerificationErrc::ImmatureSignature) return failed("token is not valid yet (nbf)");
      if (ec == jwt::AlgorithmErrc::NoneAlgorithmUsed) return failed("token algorithm 'none' is refused");
      return failed("token rejected: " + ec.message());
    }
    const auto payload = decoded.payload().create_json_obj();
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto leeway = settings_.leeway.count();

    Identity identity;
    if (payload.contains("exp")) {
      if (!payload["exp"].is_number()) return failed("claim 'exp' must be a number");
      const auto exp = std::min(payload["exp"].get<double>(), kLatestExpiry);
      if (static_cast<double>(now_s - leeway) >= exp) {
        return AuthError{ErrorCode::token_expired, "token has expired"};
      }
      identity.expires = SystemTime{std::chrono::seconds(static_cast<std::int64_t>(exp) + leeway)};
    }
    if (payload.contains("nbf")) {
      if (!payload["nbf"].is_number()) return failed("claim 'nbf' must be a number");
      if (static_cast<double>(now_s + leeway) < payload["nbf"].get<double>()) {
        return failed("token is not valid yet (nbf)");
      }
    }
    if (!settings_.issuer.empty() && (!payload.contains("iss") || !payload["iss"].is_string() ||
                                      payload["iss"].get<std::string>() != settings_.issuer)) {
      return failed("token issuer ('iss') is not the one this server accepts (JWT_ISSUER)");
    }
    if (!settings_.audience.empty() &&
        (!payload.contains("aud") || !claim_holds(payload["aud"], settings_.audience))) {
      return failed("token audience ('aud') does not include this server's (JWT_AUDIENCE)");
    }
    if (!payload.contains("sub") || !payload["sub"].is_string()) {
      return failed("token has no 'sub' claim (the user id)");
    }
    identity.user_id = payload["sub"].get<std::string>();
    if (identity.user_id.empty() || identity.user_id.size() > 256) {
      return failed("claim 'sub' must be 1-256 bytes");
    }
    if (payload.contains("topics")) {
      auto permissions = parse_topics_claim(payload["topics"]);
      if (!permissions) {
        return failed(
            R"(claim 'topics' must be {"subscribe": [patterns], "publish": [patterns]} with NATS-style patterns)");
      }
      identity.permissions = std::make_shared<const TopicPermissions>(std::move(*permissions));
    }
    identity.admin = has_role(payload, settings_.admin_role);
    return identity;
  } catch (const std::exception& e) {
    // cpp-jwt and nlohmann throw on some malformed inputs even in the error_code API.
    return failed(std::string("token is malformed: ") + e.what());
  }
}

}  // namespace natsync
