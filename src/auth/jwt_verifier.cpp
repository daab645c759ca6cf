#include "auth/jwt_verifier.hpp"

#include <jwt/jwt.hpp>

#include <algorithm>

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

}  // namespace

JwtVerifier::JwtVerifier(std::string secret, std::chrono::seconds leeway)
    : secret_(std::move(secret)), leeway_(leeway) {}

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
    std::error_code ec;
    auto decoded =
        jwt::decode(jwt::string_view(token.data(), token.size()), jwt::params::algorithms({"HS256"}), ec,
                    jwt::params::secret(secret_), jwt::params::verify(true),
                    jwt::params::leeway(static_cast<std::uint32_t>(leeway_.count())));
    if (ec) {
      if (ec == jwt::VerificationErrc::InvalidAlgorithm) {
        return failed("token algorithm is not accepted (only HS256)");
      }
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
    const auto leeway = leeway_.count();

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
    if (!payload.contains("sub") || !payload["sub"].is_string()) {
      return failed("token has no 'sub' claim (the user id)");
    }
    identity.user_id = payload["sub"].get<std::string>();
    if (identity.user_id.empty() || identity.user_id.size() > 256) {
      return failed("claim 'sub' must be 1-256 bytes");
    }
    return identity;
  } catch (const std::exception& e) {
    // cpp-jwt and nlohmann throw on some malformed inputs even in the error_code API.
    return failed(std::string("token is malformed: ") + e.what());
  }
}

}  // namespace natsync
