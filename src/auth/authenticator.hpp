#pragma once
// Decides who a connection is (JWT or, in development mode, ?user_id=) and whether
// a REST caller holds the API key. Every authentication decision lives here.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"

namespace natsync {

// A WebSocket upgrade may carry no credentials in JWT mode; it is then accepted
// unauthenticated and must send an "auth" message within AUTH_TIMEOUT.
struct AuthPending {};

using UpgradeIdentity = std::variant<Identity, AuthPending, AuthError>;

// Credentials found on an upgrade request.
struct UpgradeCredentials {
  std::string_view query_token;    // ?token=
  std::string_view authorization;  // Authorization header
  std::string_view query_user_id;  // ?user_id= (development mode only)
};

class Authenticator {
 public:
  explicit Authenticator(const Config& config);

  bool jwt_enabled() const { return verifier_.has_value(); }
  bool api_key_enabled() const { return !api_key_.empty(); }

  UpgradeIdentity identify_upgrade(const UpgradeCredentials& credentials, SystemTime now) const;
  std::variant<Identity, AuthError> identify_token(std::string_view token, SystemTime now) const;

  // REST publish/broadcast: "Authorization: Bearer <key>" or "X-API-Key: <key>"
  // (compared in constant time), or a bearer JWT whose role is ADMIN_ROLE.
  bool rest_caller_accepted(std::string_view authorization, std::string_view x_api_key, SystemTime now) const;

  // Whether `user`, holding `permissions`, may subscribe to / sync into `topic`:
  // personal topics first (PERSONAL_TOPIC_PREFIX), then the patterns.
  bool may_subscribe(const TopicPermissions& permissions, std::string_view user,
                     std::string_view topic) const;
  bool may_publish(const TopicPermissions& permissions, std::string_view user, std::string_view topic) const;

 private:
  // Gives an identity without a "topics" claim the configured defaults.
  Identity with_defaults(Identity identity) const;

  std::optional<JwtVerifier> verifier_;
  std::string api_key_;
  SharedPermissions default_permissions_;
  std::string personal_prefix_;
};

// The token of an "Authorization: Bearer <token>" header, or empty.
std::string_view bearer_token(std::string_view authorization);

}  // namespace natsync
