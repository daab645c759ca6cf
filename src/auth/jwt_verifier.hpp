#pragma once
// Verifies HS256 JSON Web Tokens through cpp-jwt. The only accepted algorithm is the
// configured one: "none" and every other alg are refused before any claim is read.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/error_code.hpp"

namespace natsync {

using SystemTime = std::chrono::system_clock::time_point;

// Who a verified token says the peer is, and until when.
struct Identity {
  std::string user_id;                // the "sub" claim
  std::optional<SystemTime> expires;  // the "exp" claim, if any
};

struct AuthError {
  ErrorCode code;  // auth_failed or token_expired
  std::string message;
};

class JwtVerifier {
 public:
  JwtVerifier(std::string secret, std::chrono::seconds leeway);

  // Checks signature, alg, exp and nbf (with leeway) and that "sub" is a non-empty
  // string. `now` is injected so tests need no clock games.
  std::variant<Identity, AuthError> verify(std::string_view token, SystemTime now) const;

 private:
  std::string secret_;
  std::chrono::seconds leeway_;
};

}  // namespace natsync
