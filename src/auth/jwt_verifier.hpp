#pragma once
// Verifies JSON Web Tokens through cpp-jwt: HS256 with a shared secret, and RS256 or
// ES256 with a PEM public key (the key's type decides which). Only the configured
// algorithms are accepted: "none" and every other alg are refused before any claim is
// read, and a token can never pick the key it is checked against (the secret only for
// HS256, the public key only for its own algorithm).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/topic_permissions.hpp"
#include "protocol/error_code.hpp"

namespace natsync {

using SystemTime = std::chrono::system_clock::time_point;

// Who a verified token says the peer is, and until when.
struct Identity {
  std::string user_id;                // the "sub" claim
  std::optional<SystemTime> expires;  // the "exp" claim, if any
  SharedPermissions permissions;      // the "topics" claim; null: the configured defaults
  bool admin = false;                 // "role" (or "roles") holds JwtSettings::admin_role
};

struct AuthError {
  ErrorCode code;  // auth_failed or token_expired
  std::string message;
};

struct JwtSettings {
  std::string hs256_secret;    // empty: HS256 not accepted
  std::string public_key_pem;  // empty: RS256/ES256 not accepted
  std::chrono::seconds leeway{0};
  std::string audience;              // when set, "aud" (a string or an array) must contain it
  std::string issuer;                // when set, "iss" must equal it
  std::string admin_role = "admin";  // the role that may use the REST API with a token
};

// The algorithm a PEM public key verifies: "RS256" for RSA (at least 2048 bits),
// "ES256" for EC P-256. Otherwise `error` says why and the result is empty.
std::string public_key_algorithm(std::string_view pem, std::string& error);

class JwtVerifier {
 public:
  explicit JwtVerifier(JwtSettings settings);
  JwtVerifier(std::string secret, std::chrono::seconds leeway)
      : JwtVerifier(JwtSettings{std::move(secret), {}, leeway, {}, {}}) {}

  // Checks signature, alg, exp and nbf (with leeway) and that "sub" is a non-empty
  // string. `now` is injected so tests need no clock games.
  std::variant<Identity, AuthError> verify(std::string_view token, SystemTime now) const;

 private:
  JwtSettings settings_;
  std::string public_key_alg_;  // what public_key_pem verifies
};

}  // namespace natsync
