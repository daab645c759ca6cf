#include "auth/jwt_verifier.hpp"

#include <jwt/jwt.hpp>

namespace natsync {
namespace {

constexpr std::size_t kMaxTokenLength = 8 * 1024;

AuthError failed(std::string message) { return AuthError{ErrorCode::auth_failed, std::move(message)}; }

}  // namespace

JwtVerifier::JwtVerifier(std::string secret, std::chrono::seconds leeway)
    : secret_(std::move(secret)), leeway_(leeway) {}

std::variant<Identity, AuthError> JwtVerifier::verify(std::string_view token, SystemTime now) const {
  if (token.empty()) return failed("token is empty");
  if (token.size() > kMaxTokenLength) return failed("token is longer than 8 KiB");
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
      const auto exp = payload["exp"].get<double>();
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
