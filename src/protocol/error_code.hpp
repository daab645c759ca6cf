#pragma once
// Machine-readable error codes sent as {"type":"error","code":…}. docs/protocol.md
// lists each with its meaning; clients branch on these, never on the text.
#include <string_view>

namespace natsync {

enum class ErrorCode {
  invalid_json,            // the frame is not one JSON object
  invalid_message,         // a field is missing or has the wrong type
  unknown_type,            // "type" names no message a client may send
  invalid_topic,           // topic fails the naming rules
  not_authenticated,       // JWT mode: only "auth" is allowed before authenticating
  auth_failed,             // token rejected (bad signature, alg, malformed, no sub)
  token_expired,           // token's exp has passed
  unsupported_data,        // binary frame
  slow_consumer,           // outbound queue overflowed
  broker_unavailable,      // delivered locally, but other nodes could not be reached
  permission_denied,       // the token's topics claim (or the defaults) do not allow it
  rate_limited,            // over WS_MESSAGE_RATE: the message was refused
  too_many_subscriptions,  // MAX_SUBSCRIPTIONS_PER_CONNECTION reached
  too_many_connections,    // MAX_CONNECTIONS_PER_USER reached when authenticating
  revision_conflict,       // a document change's if_revision is not the document's revision
  patch_failed,            // a JSON Patch operation failed (a test, a missing path)
  document_too_large,      // a change would make a document larger than DOCUMENT_MAX_BYTES
  forbidden,               // the token's topics claim does not allow changing this document
  internal_error,
};

constexpr std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_json: return "invalid_json";
    case ErrorCode::invalid_message: return "invalid_message";
    case ErrorCode::unknown_type: return "unknown_type";
    case ErrorCode::invalid_topic: return "invalid_topic";
    case ErrorCode::not_authenticated: return "not_authenticated";
    case ErrorCode::auth_failed: return "auth_failed";
    case ErrorCode::token_expired: return "token_expired";
    case ErrorCode::unsupported_data: return "unsupported_data";
    case ErrorCode::slow_consumer: return "slow_consumer";
    case ErrorCode::broker_unavailable: return "broker_unavailable";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::too_many_subscriptions: return "too_many_subscriptions";
    case ErrorCode::too_many_connections: return "too_many_connections";
    case ErrorCode::revision_conflict: return "revision_conflict";
    case ErrorCode::patch_failed: return "patch_failed";
    case ErrorCode::document_too_large: return "document_too_large";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::internal_error: return "internal_error";
  }
  return "internal_error";
}

// WebSocket close codes natsync sends (RFC 6455 §7.4 plus the 4000-4999 private range).
namespace close_code {
inline constexpr unsigned short normal = 1000;            // client sent "disconnect"
inline constexpr unsigned short going_away = 1001;        // server shutting down
inline constexpr unsigned short protocol_error = 1002;    // a frame against RFC 6455 (FrameParser)
inline constexpr unsigned short unsupported_data = 1003;  // binary frame
inline constexpr unsigned short invalid_payload = 1007;   // invalid UTF-8 (FrameParser, or Beast)
inline constexpr unsigned short too_big = 1009;           // over WS_MAX_MESSAGE_SIZE (FrameParser, or Beast)
inline constexpr unsigned short internal_error = 1011;
inline constexpr unsigned short auth_timeout = 4001;       // no auth within AUTH_TIMEOUT
inline constexpr unsigned short token_expired = 4003;      // token exp passed, no re-auth
inline constexpr unsigned short slow_consumer = 4008;      // outbound queue overflowed
inline constexpr unsigned short server_disconnect = 4010;  // the server API disconnected it; may reconnect
inline constexpr unsigned short server_disconnect_final = 4011;  // the server API: do not reconnect
inline constexpr unsigned short rate_limited = 4029;             // WS_MESSAGE_BURST messages refused in a row
inline constexpr unsigned short too_many_connections = 4030;     // user over MAX_CONNECTIONS_PER_USER at auth
}  // namespace close_code

}  // namespace natsync
