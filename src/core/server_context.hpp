#pragma once
// What every connection of a running server needs to see: the settings and the
// node-wide services. Owned by Service, which outlives every connection. The layers
// above (the REST API, the transport) get what they add beside it, not through it.
#include <spdlog/logger.h>

#include "auth/authenticator.hpp"
#include "auth/origin_policy.hpp"
#include "config/config.hpp"
#include "core/node.hpp"
#include "hub/connection_registry.hpp"
#include "limits/connection_limiter.hpp"
#include "tls/tls_context.hpp"

namespace natsync {

struct ServerContext {
  const Config& config;
  Node& node;
  Broker& broker;
  const Authenticator& auth;
  const OriginPolicy& origins;
  ConnectionRegistry& registry;
  ConnectionLimiter& limiter;
  spdlog::logger& log;
  const TlsContext* tls;  // null: plain HTTP (no TLS_CERT_FILE)
};

}  // namespace natsync
