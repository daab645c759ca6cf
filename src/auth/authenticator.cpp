#include "auth/authenticator.hpp"

#include <openssl/crypto.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>

namespace natsync {

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return {};
  const bool matches = std::equal(scheme.begin(), scheme.end(), authorization.begin(), [](char a, char b) {
    return a == std::tolower(static_cast<unsigned char>(b));
  });
  if (!matches) return {};
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

Authenticator::Authenticator(const Config& config)
    : api_key_(config.api_key), personal_prefix_(config.personal_topic_prefix) {
  if (!config.jwt_secret.empty() || !config.jwt_public_key.empty()) {
    verifier_.emplace(JwtSettings{config.jwt_secret, config.jwt_public_key,
                                  std::chrono::duration_cast<std::chrono::seconds>(config.jwt_leeway),
                                  config.jwt_audience, config.jwt_issuer, config.admin_role});
  }
  // load_config has checked both lists.
  std::string error;
  auto defaults = std::make_shared<TopicPermissions>();
  defaults->subscribe = TopicPattern::parse_list(split_list(config.default_subscribe_topics), error)
                            .value_or(std::vector<TopicPattern>{});
  defaults->publish = TopicPattern::parse_list(split_list(config.default_publish_topics), error)
                          .value_or(std::vector<TopicPattern>{});
  default_permissions_ = std::move(defaults);
}

Identity Authenticator::with_defaults(Identity identity) const {
  if (!identity.permissions) identity.permissions = default_permissions_;
  return identity;
}

bool Authenticator::may_subscribe(const TopicPermissions& permissions, std::string_view user,
                                  std::string_view topic) const {
  if (is_pattern(topic)) {
    return !may_match_foreign_personal_topic(topic, personal_prefix_, user) &&
           permissions.may_subscribe_pattern(topic);
  }
  return !is_foreign_personal_topic(topic, personal_prefix_, user) && permissions.may_subscribe(topic);
}

bool Authenticator::may_publish(const TopicPermissions& permissions, std::string_view user,
                                std::string_view topic) const {
  return !is_foreign_personal_topic(topic, personal_prefix_, user) && permissions.may_publish(topic);
}

UpgradeIdentity Authenticator::identify_upgrade(const UpgradeCredentials& credentials, SystemTime now) const {
  if (!verifier_) {
    // Development mode: the caller says who it is. Anonymous when absent. The id goes
    // into text frames (connect, presence), which must be UTF-8: anything else is refused,
    // as is an id longer than the 256 bytes every other path allows.
    const auto user = credentials.query_user_id;
    if (user.size() > 256 || !simdjson::validate_utf8(user.data(), user.size()))
      return AuthError{ErrorCode::auth_failed, "user_id must be UTF-8 text of at most 256 bytes"};
    return with_defaults(Identity{std::string(user), std::nullopt, nullptr, false});
  }
  std::string_view token = credentials.query_token;
  if (token.empty()) token = bearer_token(credentials.authorization);
  if (token.empty()) return AuthPending{};
  auto result = verifier_->verify(token, now);
  if (auto* identity = std::get_if<Identity>(&result)) return with_defaults(std::move(*identity));
  return std::get<AuthError>(std::move(result));
}

std::variant<Identity, AuthError> Authenticator::identify_token(std::string_view token,
                                                                SystemTime now) const {
  if (!verifier_) {
    return AuthError{
        ErrorCode::auth_failed,
        "this server runs without JWT_SECRET or JWT_PUBLIC_KEY_FILE (development mode); identity comes "
        "from ?user_id="};
  }
  auto result = verifier_->verify(token, now);
  if (auto* identity = std::get_if<Identity>(&result)) return with_defaults(std::move(*identity));
  return result;
}

bool Authenticator::rest_caller_accepted(std::string_view authorization, std::string_view x_api_key,
                                         SystemTime now) const {
  if (api_key_.empty()) return true;
  const auto matches = [this](std::string_view given) {
    return given.size() == api_key_.size() &&
           CRYPTO_memcmp(given.data(), api_key_.data(), api_key_.size()) == 0;
  };
  const auto bearer = bearer_token(authorization);
  if (matches(bearer) || matches(x_api_key)) return true;
  if (!verifier_ || bearer.empty()) return false;
  auto result = verifier_->verify(bearer, now);
  const auto* identity = std::get_if<Identity>(&result);
  return identity != nullptr && identity->admin;
}

}  // namespace natsync
