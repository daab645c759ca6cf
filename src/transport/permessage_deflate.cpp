#include "transport/permessage_deflate.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/stream_base.hpp>
#include <utility>

namespace natsync {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// Beast decompresses into the message's buffer: a first read of this much, then the
// buffer grows by its own size (at least kMinTailRead, at most kMaxTailRead) per read.
constexpr std::size_t kFirstCompressedRead = 512;
constexpr std::size_t kMinTailRead = 4096;
constexpr std::size_t kMaxTailRead = std::size_t{256} * 1024;

}  // namespace

struct PermessageDeflate::Stream {
  explicit Stream(GatedSocket socket) : ws(std::move(socket)) {}
  websocket::stream<GatedSocket> ws;
};

PermessageDeflate::PermessageDeflate(GatedSocket socket, const Config& config,
                                     std::function<void()> on_control)
    : stream_(std::make_unique<Stream>(std::move(socket))) {
  auto& ws = stream_->ws;
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(beast::http::field::server, "natsync"); }));
  ws.read_message_max(config.ws_max_message_size);  // the decompressed size
  websocket::permessage_deflate deflate;
  deflate.server_enable = true;
  // Memory per compressing connection: a 4 KiB window (not 32) and small hash tables;
  // JSON messages are short, so little ratio is lost (docs/configuration.md).
  deflate.server_max_window_bits = 12;
  deflate.memLevel = 3;
  // Small JSON messages gain little and cost a deflate call each.
  deflate.msg_size_threshold = 64;
  ws.set_option(deflate);
  // Beast compresses the data frames: its write buffer bounds what one call deflates.
  ws.write_buffer_bytes(config.ws_write_buffer_size);
  // The callback runs inside our own read operation, which holds the connection.
  ws.control_callback(
      [on_control = std::move(on_control)](websocket::frame_type, beast::string_view) { on_control(); });
}

PermessageDeflate::~PermessageDeflate() = default;

void PermessageDeflate::accept(const Request& request, Done done) {
  stream_->ws.async_accept(request, std::move(done));
}

void PermessageDeflate::read(std::string& message, ReadDone done) {
  tail_start_ = message.size();
  const auto room =
      message.empty() ? kFirstCompressedRead : std::clamp(message.size(), kMinTailRead, kMaxTailRead);
  message.resize(tail_start_ + room);
  stream_->ws.async_read_some(
      boost::asio::buffer(message.data() + tail_start_, room),
      [this, &message, done = std::move(done)](boost::system::error_code ec, std::size_t bytes) {
        message.resize(tail_start_ + bytes);
        done(ec, !ec && stream_->ws.is_message_done());
      });
}

bool PermessageDeflate::got_text() const { return stream_->ws.got_text(); }

bool PermessageDeflate::closed_normally(const boost::system::error_code& ec) {
  return ec == websocket::error::closed;
}

unsigned short PermessageDeflate::close_code() const { return stream_->ws.reason().code; }

void PermessageDeflate::write(const Frame& frame, WriteDone done) {
  auto& ws = stream_->ws;
  if (frame->is_verbatim()) {  // the 101 reply: as it is
    ws.next_layer().async_write(
        boost::asio::buffer(frame->bytes()),
        [frame, done = std::move(done)](boost::system::error_code ec, std::size_t n) { done(ec, n); });
    return;
  }
  if (frame->opcode() == WireFrame::Opcode::ping) {
    ws.async_ping({}, [done = std::move(done)](boost::system::error_code ec) { done(ec, 0); });
    return;
  }
  ws.text(frame->opcode() == WireFrame::Opcode::text);
  ws.async_write(boost::asio::buffer(frame->payload()),
                 [frame, done = std::move(done)](boost::system::error_code ec, std::size_t n) {
                   done(ec, n);  // `frame` kept alive until Beast is done with its payload
                 });
}

void PermessageDeflate::close(unsigned short code, std::string_view reason, Done done) {
  websocket::close_reason close_reason(code);
  close_reason.reason.assign(reason.data(), reason.size());
  stream_->ws.async_close(close_reason, std::move(done));
}

bool PermessageDeflate::is_open() const { return stream_->ws.is_open(); }

GatedSocket& PermessageDeflate::socket() { return stream_->ws.next_layer(); }

}  // namespace natsync
