#include "transport/websocket_connection.hpp"

#include "logging/log_event.hpp"

#include <algorithm>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <limits>

#include "protocol/error_code.hpp"
#include "transport/handshake.hpp"
#include "transport/permessage_deflate.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace {

// How long a peer gets to answer our close frame before the socket is cut.
constexpr auto kCloseGrace = std::chrono::seconds(5);
// At most this many frames in one gather write (one sendmsg: GatedSocket's limit).
constexpr std::size_t kMaxFramesPerWrite = 256;
// Reads of one connection's socket before the others on its worker get their turn.
constexpr std::size_t kMaxReadsPerTurn = 16;

// Memory for the pending read of a connection, which an idle connection holds for as
// long as it is idle: exactly its size. asio's default allocator (also for
// std::allocator) recycles per thread, and would hand it the ~500-byte block the HTTP
// request's read just gave back.
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  explicit ExactAllocator(const ExactAllocator<U>& /*other*/) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete(p); }
  friend bool operator==(const ExactAllocator& /*a*/, const ExactAllocator& /*b*/) { return true; }
};

// What our close frame says beside its code.
std::string_view close_reason_text(unsigned short code) {
  switch (code) {
    case close_code::normal: return "bye";
    case close_code::going_away: return "shutdown";
    case close_code::unsupported_data: return "binary frames are not supported";
    case close_code::auth_timeout: return "auth_timeout";
    case close_code::token_expired: return "token_expired";
    case close_code::slow_consumer: return "slow_consumer";
    case close_code::rate_limited: return "rate_limited";
    case close_code::too_many_connections: return "too_many_connections";
    case close_code::server_disconnect:
    case close_code::server_disconnect_final: return "disconnected";
    default: return "error";
  }
}

}  // namespace

WebSocketConnection::WebSocketConnection(GatedSocket socket, Worker& worker)
    : socket_(std::move(socket)), parser_(worker.context().config.ws_max_message_size), worker_(worker) {}

WebSocketConnection::~WebSocketConnection() = default;

const ServerContext& WebSocketConnection::context() const { return worker_.context(); }

GatedSocket& WebSocketConnection::socket() { return deflate_ ? deflate_->socket() : socket_; }

void WebSocketConnection::run(const Request& request, std::string_view accept_key, std::string pipelined) {
  socket_.set_prefetched(std::move(pipelined));
  socket_.set_listener(this);
  const auto& config = context().config;
  if (!config.ws_compression || !offers_permessage_deflate(request)) {
    // The 101 goes out with the first frames (the connect message) in one write.
    outbound_.push(std::make_shared<const WireFrame>(WireFrame::verbatim, switching_protocols(accept_key)));
    request_flush();
    open();
    return;
  }
  // Pings and pongs prove the peer alive; Beast sees them inside our own read.
  deflate_ =
      std::make_unique<PermessageDeflate>(std::move(socket_), config, [this] { last_seen_ = Clock::now(); });
  deflate_->accept(request,
                   [self = shared_from_this()](boost::system::error_code ec) { self->on_accept(ec); });
}

void WebSocketConnection::on_accept(boost::system::error_code ec) {
  // Beast's reply (101, or its error response) goes out with our first frames.
  auto reply_bytes = socket().take_handshake_reply();
  if (ec) {
    log_event(context().log, spdlog::level::debug, "handshake failed",
              {{"connection_id", handler().connection_id()}, {"reason", ec.message()}});
    if (!reply_bytes.empty()) {
      auto bytes = std::make_shared<const std::string>(std::move(reply_bytes));
      socket().async_write(boost::asio::buffer(*bytes),
                           [bytes, self = shared_from_this()](boost::system::error_code, std::size_t) {});
    }
    return;
  }
  outbound_.push(std::make_shared<const WireFrame>(WireFrame::verbatim, reply_bytes));
  request_flush();
  open();
}

void WebSocketConnection::open() {
  if (state_ != State::opening) return;  // cut while Beast answered the upgrade
  last_seen_ = last_ping_ = Clock::now();
  state_ = State::open;
  worker_.attach(*this);  // keep-alive and deadlines
  log_event(context().log, spdlog::level::debug, "connection open on its worker",
            {{"connection_id", handler().connection_id()}, {"worker", worker_.index()}});
  handler().on_open();
}

void WebSocketConnection::start_reading() {
  if (state_ == State::ended) return;
  do_read();
}

void WebSocketConnection::do_read() {
  if (deflate_) {
    read_compressed();
  } else {
    // Read before waiting: bytes may already be there (behind the upgrade request, or
    // arrived since), and the edge-triggered wait would not see them.
    read_available();
  }
}

void WebSocketConnection::wait_readable() {
  socket_.async_wait_readable(boost::asio::bind_allocator(
      ExactAllocator<void>(), [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->ended(ec);
        self->read_available();
      }));
}

void WebSocketConnection::read_available() {
  // Until the socket has nothing more (asio waits for readiness only after that: its
  // epoll is edge-triggered), but at most kMaxReadsPerTurn reads before the worker's
  // other connections get their turn.
  const auto buffer = worker_.read_buffer();
  for (std::size_t reads = 0; reads < kMaxReadsPerTurn; ++reads) {
    boost::system::error_code ec;
    const auto bytes = socket_.read_now(buffer, ec);
    if (ec == boost::asio::error::would_block) {
      wait_readable();
      return;
    }
    if (ec) return ended(ec);
    last_seen_ = Clock::now();
    worker_.metrics().bytes_received.add(bytes);
    std::string_view input(static_cast<const char*>(buffer.data()), bytes);
    while (!input.empty()) {
      const auto [consumed, event] = parser_.parse(input, message_);
      input.remove_prefix(consumed);
      if (!on_frame_event(event)) return;
    }
  }
  boost::asio::post(worker_.io_context(), [self = shared_from_this()] { self->read_available(); });
}

bool WebSocketConnection::on_frame_event(FrameParser::Event event) {
  using Event = FrameParser::Event;
  switch (event) {
    case Event::none:
    case Event::pong: return true;
    case Event::message: finish_message(); return true;
    case Event::ping:
      send_own(std::make_shared<const WireFrame>(WireFrame::Opcode::pong, parser_.control()));
      return true;
    case Event::close: {
      // Answered with the same code after what is queued (1000 for a close without one).
      const auto code = parser_.close_code() != 0 ? parser_.close_code() : close_code::normal;
      log_event(context().log, spdlog::level::debug, "connection closed by the peer",
                {{"connection_id", handler().connection_id()}, {"code", code}});
      peer_closed_ = true;
      if (state_ == State::open) start_close(code);
      break;
    }
    case Event::error:
      log_event(context().log, spdlog::level::debug, "protocol error; closing",
                {{"connection_id", handler().connection_id()},
                 {"code", parser_.error_code()},
                 {"reason", parser_.error_reason()}});
      peer_closed_ = true;  // nothing more is read from a peer that broke the protocol
      if (state_ < State::close_sent) start_close(parser_.error_code());
      break;
  }
  // Reading stops here: once our close frame is out (at once if it already is), the
  // connection is torn down, which reads and drops whatever still comes.
  if (state_ >= State::close_sent && !outbound_.in_flight()) {
    tear_down();
  } else {
    request_flush();
  }
  return false;
}

void WebSocketConnection::read_compressed() {
  deflate_->read(message_, [self = shared_from_this()](boost::system::error_code ec, bool message_done) {
    self->on_read_compressed(ec, message_done);
  });
}

void WebSocketConnection::on_read_compressed(boost::system::error_code ec, bool message_done) {
  if (ec) {
    if (PermessageDeflate::closed_normally(ec)) {
      log_event(context().log, spdlog::level::debug, "connection closed",
                {{"connection_id", handler().connection_id()}, {"code", deflate_->close_code()}});
      if (close_code_ == 0) close_code_ = static_cast<unsigned short>(deflate_->close_code());
      end();
      return;
    }
    return ended(ec);
  }
  last_seen_ = Clock::now();
  if (message_done) {
    worker_.metrics().bytes_received.add(message_.size());  // inflated: Beast reads the socket
    finish_message();
  }
  read_compressed();
}

bool WebSocketConnection::got_text() const { return deflate_ ? deflate_->got_text() : parser_.text(); }

void WebSocketConnection::finish_message() {
  if (state_ == State::open) handler().on_message(message_, got_text(), last_seen_);
  message_.clear();
  // Give back what a large message made the buffer grow to (WS_READ_BUFFER_SIZE is
  // what a connection may keep between messages).
  if (message_.capacity() > context().config.ws_read_buffer_size) message_.shrink_to_fit();
}

void WebSocketConnection::ended(const boost::system::error_code& ec) {
  log_event(context().log, spdlog::level::debug, "connection ended",
            {{"connection_id", handler().connection_id()}, {"reason", ec.message()}});
  end();
}

bool WebSocketConnection::has_room(std::size_t bytes) const {
  return outbound_.bytes() + bytes <= context().config.ws_max_queue_bytes + replay_allowance_;
}

void WebSocketConnection::allow_over_bound(std::size_t bytes) {
  replay_allowance_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(
      std::uint64_t{replay_allowance_} + bytes, std::numeric_limits<std::uint32_t>::max()));
}

bool WebSocketConnection::send(const Frame& frame) {
  if (state_ != State::open) return true;  // closing: nothing more goes out
  if (!has_room(frame->size())) return false;
  outbound_.push(frame);
  request_flush();
  return true;
}

void WebSocketConnection::send_own(const Frame& frame) {
  if (!send(frame)) handler().on_overflow();
}

void WebSocketConnection::cut(const Frame& notice, unsigned short code) {
  if (state_ != State::open) return;
  outbound_.drop_unsent();  // what is being written stays
  if (notice) outbound_.push(notice);
  start_close(code);  // flushes the notice, then the close frame
}

void WebSocketConnection::close(unsigned short code) {
  if (state_ == State::open) start_close(code);
}

void WebSocketConnection::start_close(unsigned short code) {
  state_ = State::closing;
  close_code_ = code;
  close_deadline_ = Clock::now() + kCloseGrace;
  request_flush();  // what is queued goes first; do_write() then sends the close frame
}

void WebSocketConnection::request_flush() {
  if (flush_requested_ || outbound_.in_flight()) return;  // on_write() continues
  flush_requested_ = true;
  worker_.request_flush(shared_from_this());
}

void WebSocketConnection::flush() {
  flush_requested_ = false;
  do_write();
}

void WebSocketConnection::on_socket_free() {
  if (!flush_requested_) do_write();
}

void WebSocketConnection::do_write() {
  // Busy with Beast's own write (a pong, the close frame): on_socket_free() resumes.
  if (outbound_.in_flight() || socket().writing()) return;
  if (deflate_) {
    if (!deflate_->is_open()) return;  // Beast is closing: nothing may follow its close frame
    if (outbound_.has_unsent()) {
      write_compressed();
    } else if (state_ == State::closing) {
      // Everything queued before the close is out; now the close frame.
      state_ = State::close_sent;
      deflate_->close(close_code_, close_reason_text(close_code_),
                      [self = shared_from_this()](boost::system::error_code) {});
    }
    return;
  }
  if (state_ == State::closing && !outbound_.has_unsent()) {
    // Everything queued before the close is out; now the close frame: the reason is
    // the protocol rule the peer broke, or ours, or none when answering the peer's.
    state_ = State::close_sent;
    std::string_view reason;
    if (parser_.failed()) {
      reason = parser_.error_reason();
    } else if (!peer_closed_) {
      reason = close_reason_text(close_code_);
    }
    outbound_.push(make_close_frame(close_code_, reason));
  }
  if (outbound_.has_unsent()) {
    socket_.async_write(outbound_.take(kMaxFramesPerWrite),
                        boost::beast::bind_front_handler(&WebSocketConnection::on_write, shared_from_this()));
  }
}

void WebSocketConnection::write_compressed() {
  const Frame frame = outbound_.next_unsent();
  outbound_.take(1);
  deflate_->write(frame, [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
    self->on_write(ec, bytes);
  });
}

// Often runs inside do_write() (GatedSocket completes a write the socket took at once
// inline); nothing here writes again directly, so that never recurses.
void WebSocketConnection::on_write(boost::system::error_code ec, std::size_t bytes) {
  outbound_.written();
  worker_.metrics().bytes_sent.add(bytes);
  // What is still queued of a replay is at most what is still queued at all.
  if (replay_allowance_ > outbound_.bytes())
    replay_allowance_ = static_cast<std::uint32_t>(outbound_.bytes());
  if (ec) {
    abort("write failed: " + ec.message());
    return;
  }
  // What was queued meanwhile waits for the worker's flush, with whatever else this
  // round queues: writing it now would send a few frames per syscall under load.
  if (outbound_.has_unsent()) {
    request_flush();
  } else if (state_ >= State::close_sent && peer_closed_ && !deflate_) {
    tear_down();  // our close frame is out and the peer has nothing more to say
  } else {
    do_write();  // the close frame, if closing
  }
}

void WebSocketConnection::tear_down() {
  if (state_ >= State::tearing_down) return;
  state_ = State::tearing_down;
  socket_.async_teardown(boost::beast::role_type::server,
                         [self = shared_from_this()](boost::system::error_code) { self->end(); });
}

void WebSocketConnection::abort(std::string_view why) {
  log_event(context().log, spdlog::level::debug, "connection cut",
            {{"connection_id", handler().connection_id()}, {"reason", why}});
  if (state_ < State::closing) {
    state_ = State::closing;
    close_deadline_ = Clock::now() + kCloseGrace;
  }
  boost::system::error_code ignored;
  socket().next_layer().close(ignored);
}

void WebSocketConnection::on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall) {
  const auto& config = context().config;
  if (state_ != State::open) {
    if (now >= close_deadline_) abort("close handshake timed out");
    return;
  }
  if (now - last_seen_ >= config.ws_pong_wait) {
    abort("silent for longer than WS_PONG_WAIT");
    return;
  }
  handler().on_tick(now, wall);
  if (state_ == State::open && now - last_ping_ >= config.ws_ping_interval) {
    last_ping_ = now;
    send_own(worker_.ping_frame());  // in line with the data: a ping never overtakes a frame
  }
}

void WebSocketConnection::shut_down() {
  if (state_ == State::open) handler().on_shutdown();
}

void WebSocketConnection::end() {
  if (state_ == State::ended) return;
  state_ = State::ended;
  // A connection that ends without a close frame either way is 1006 (RFC 6455 §7.1.5).
  worker_.metrics().count_disconnect(close_code_ != 0 ? close_code_ : 1006);
  worker_.detach(*this);
  handler().on_closed();
  outbound_.drop_unsent(true);
}

}  // namespace natsync
