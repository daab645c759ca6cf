#pragma once
// What every connection of a running server needs to see: the settings and the
// node-wide services. Owned by Service, which outlives every connection.
#include <spdlog/logger.h>

#include "api/rest_api.hpp"
#include "auth/authenticator.hpp"
#include "auth/origin_policy.hpp"
#include "config/config.hpp"
#include "hub/connection_registry.hpp"
#include "limits/connection_limiter.hpp"
#include "server/node.hpp"
#include "tls/tls_context.hpp"

namespace natsync {

struct ServerContext {
  const Config& config;
  Node& node;
  Broker& broker;
  const Authenticator& auth;
  const OriginPolicy& origins;
  const RestApi& rest;
  ConnectionRegistry& registry;
  ConnectionLimiter& limiter;
  spdlog::logger& log;
  const TlsContext* tls;  // null: plain HTTP (no TLS_CERT_FILE)
};

}  // namespace natsync
