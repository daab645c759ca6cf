#pragma once
// What the load generator writes and reads on the wire, without sockets: the client
// side of RFC 6455 framing, the few NATS protocol operations a benchmark needs, a
// minimal HTTP/1.1 response reader, and the 64-byte benchmark payload.
//
// Why not Beast's websocket::stream here: the load generator must stay cheaper than
// the servers it measures. It reads whatever the socket holds in one non-blocking
// read and splits it into messages in place (one syscall for many frames), which a
// per-message async_read cannot do. Only the framing a client needs is written here:
// server frames are never masked, and the load generator never sends fragments.
#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen {

// ---- WebSocket (client side) ----

std::string websocket_upgrade_request(std::string_view host, std::string_view path_and_query);

// Appends one masked, unfragmented client frame (text or binary) holding `payload`.
void append_client_frame(std::string& out, std::string_view payload, bool binary, std::uint8_t opcode = 0);

struct ServerFrame {
  std::uint8_t opcode = 0;  // 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong
  bool fin = true;
  std::string_view payload;
};

// Parses one server frame at the start of `bytes`. Returns the bytes it took, 0 when
// the frame is incomplete, or -1 when it is not a valid server frame (masked, or a
// length over 2^40).
long parse_server_frame(std::string_view bytes, ServerFrame& frame);

// ---- HTTP/1.1 responses (the upgrade reply, REST replies) ----

struct HttpResponse {
  int status = 0;
  std::size_t size = 0;  // head + body
};

// Reads one response at the start of `bytes`: true and `response` when complete.
// A response without Content-Length has no body (101, 204, and natsync's replies all
// say their length).
bool parse_http_response(std::string_view bytes, HttpResponse& response);

// ---- NATS client protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol) ----

struct NatsOp {
  enum class Kind { msg, ping, pong, ok, err, info } kind = Kind::ok;
  std::string_view payload;  // MSG: the message body; -ERR: the error text
};

// Parses one server operation at the start of `bytes`: the bytes it took, 0 when
// incomplete, -1 on an unknown operation.
long parse_nats_op(std::string_view bytes, NatsOp& op);

// ---- The benchmark payload ----

// Exactly `size` bytes of JSON (at least 48): {"i":publisher,"s":sequence,"t":send
// time in ns,"p":"xxx…"}.
std::string make_payload(int publisher, std::int64_t sequence, std::int64_t sent_ns, std::size_t size);

struct PayloadFields {
  int publisher = 0;
  std::int64_t sequence = 0;
  std::int64_t sent_ns = 0;
};

// Finds the fields in a payload, or in a natsync data message that carries one.
bool read_payload(std::string_view text, PayloadFields& fields);

}  // namespace loadgen
