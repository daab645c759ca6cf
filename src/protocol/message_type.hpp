#pragma once
// The message types of the spec's {type, topic, data, error} protocol.
#include <optional>
#include <string_view>

namespace natsync {

// snapshot and patch: shared documents (docs/documents.md); a client sends patch.
// ping and pong: the application-level heartbeat (a browser cannot see WebSocket pings,
// so a client that must notice a half-open connection sends ping and waits for pong).
// presence (asked by a client, answered by the server), join, leave and presence_summary:
// who is subscribed to a topic (docs/protocol.md, Presence).
enum class MessageType {
  connect,
  disconnect,
  subscribe,
  unsubscribe,
  data,
  error,
  auth,
  sync,
  snapshot,
  patch,
  ping,
  pong,
  presence,
  join,
  leave,
  presence_summary
};

constexpr std::string_view to_string(MessageType type) noexcept {
  switch (type) {
    case MessageType::connect: return "connect";
    case MessageType::disconnect: return "disconnect";
    case MessageType::subscribe: return "subscribe";
    case MessageType::unsubscribe: return "unsubscribe";
    case MessageType::data: return "data";
    case MessageType::error: return "error";
    case MessageType::auth: return "auth";
    case MessageType::sync: return "sync";
    case MessageType::snapshot: return "snapshot";
    case MessageType::patch: return "patch";
    case MessageType::ping: return "ping";
    case MessageType::pong: return "pong";
    case MessageType::presence: return "presence";
    case MessageType::join: return "join";
    case MessageType::leave: return "leave";
    case MessageType::presence_summary: return "presence_summary";
  }
  return "unknown";
}

constexpr std::optional<MessageType> parse_message_type(std::string_view text) noexcept {
  for (auto type :
       {MessageType::connect, MessageType::disconnect, MessageType::subscribe, MessageType::unsubscribe,
        MessageType::data, MessageType::error, MessageType::auth, MessageType::sync, MessageType::snapshot,
        MessageType::patch, MessageType::ping, MessageType::pong, MessageType::presence, MessageType::join,
        MessageType::leave, MessageType::presence_summary}) {
    if (to_string(type) == text) return type;
  }
  return std::nullopt;
}

}  // namespace natsync
