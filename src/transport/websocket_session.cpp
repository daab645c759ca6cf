#include "transport/websocket_session.hpp"

#include <algorithm>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream_base.hpp>
#include <limits>
#include <utility>

#include "protocol/server_message.hpp"
#include "transport/handshake.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using std::chrono::steady_clock;

namespace {

// How long a peer gets to answer our close frame before the socket is cut.
constexpr auto kCloseGrace = std::chrono::seconds(5);
// At most this many frames in one gather write (one sendmsg: GatedSocket's limit).
constexpr std::size_t kMaxFramesPerWrite = 256;
// Reads of one connection's socket before the others on its worker get their turn.
constexpr std::size_t kMaxReadsPerTurn = 16;
// Beast decompresses into the message's buffer: a first read of this much, then the
// buffer grows by its own size (at least kMinTailRead, at most kMaxTailRead) per read.
constexpr std::size_t kFirstCompressedRead = 512;
constexpr std::size_t kMinTailRead = 4096;
constexpr std::size_t kMaxTailRead = std::size_t{256} * 1024;

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
    default: return "error";
  }
}

websocket::close_reason make_close_reason(unsigned short code) {
  websocket::close_reason reason(code);
  const auto text = close_reason_text(code);
  reason.reason.assign(text.data(), text.size());
  return reason;
}

}  // namespace

WebSocketSession::WebSocketSession(GatedSocket socket, Worker& worker, Endpoint endpoint,
                                   std::optional<Identity> identity, ConnectionLimiter::Ticket ticket)
    : Subscriber(worker.context().registry.next_connection_id()),
      socket_(std::move(socket)),
      parser_(worker.context().config.ws_max_message_size),
      worker_(worker),
      ticket_(std::move(ticket)),
      inbound_(static_cast<double>(worker.context().config.ws_message_rate),
               static_cast<double>(worker.context().config.ws_message_burst), steady_clock::now()),
      endpoint_(endpoint),
      authenticated_(identity.has_value()) {
  if (identity) {
    user_id_ = std::move(identity->user_id);
    token_expires_ = identity->expires;
    permissions_ = std::move(identity->permissions);
  }
}

WebSocketSession::~WebSocketSession() { detach(); }

const ServerContext& WebSocketSession::context() const { return worker_.context(); }

void WebSocketSession::run(const Request& request, std::string_view accept_key, std::string pipelined) {
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
  deflate_ = std::make_unique<Stream>(std::move(socket_));
  auto& ws = *deflate_;
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
  // Pongs (and pings) prove the peer alive. The callback runs inside our own read
  // operation, which holds a reference to this session.
  ws.control_callback(
      [this](websocket::frame_type, beast::string_view) { last_seen_ = steady_clock::now(); });
  ws.async_accept(request, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::on_accept(boost::system::error_code ec) {
  // Beast's reply (101, or its error response) goes out with our first frames.
  auto reply_bytes = socket().take_handshake_reply();
  if (ec) {
    context().log.debug("connection {}: handshake failed: {}", id(), ec.message());
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

void WebSocketSession::open() {
  const auto now = steady_clock::now();
  last_seen_ = last_ping_ = now;
  if (!authenticated_) deadline_ = now + context().config.auth_timeout;
  open_ = true;
  worker_.attach(*this);  // keep-alive and deadlines, whatever the endpoint
  if (endpoint_ == Endpoint::echo) {
    context().log.debug("connection {} open on worker {} (echo)", id(), worker_.index());
    do_read();
    return;
  }
  context().registry.add(user_id_);
  context().log.debug("connection {} open on worker {} (user '{}'{})", id(), worker_.index(), user_id_,
                      authenticated_ ? "" : ", awaiting auth");
  // `connect` is the first message on every connection (docs/protocol.md; clients rely
  // on it): nothing the client sends is read, so nothing is answered, before it is out.
  // In cluster mode it waits for the broker to deliver to the user from every node;
  // with no read pending meanwhile, the callback holds the session alive.
  const auto connect_then_read = [keep_alive = shared_from_this()](WebSocketSession& self) {
    self.reply(encode_connect(std::to_string(self.id()), self.user_id_));
    self.do_read();
  };
  // An unauthenticated connection (JWT mode, no token yet) joins the hub only once it
  // authenticates, so not even a broadcast reaches it before then.
  if (authenticated_) {
    join_hub(connect_then_read);
  } else {
    connect_then_read(*this);
  }
}

void WebSocketSession::join_hub(std::function<void(WebSocketSession&)> then) {
  const bool first_of_user = worker_.hub().add(*this, user_id_);
  if (user_id_.empty()) {
    then(*this);  // anonymous (development mode): no user key to wait for
  } else {
    after_broker(Channel::user, user_id_, first_of_user, std::move(then));
  }
}

void WebSocketSession::after_broker(Channel channel, const std::string& key, bool key_appeared,
                                    std::function<void(WebSocketSession&)> then) {
  auto& broker = context().broker;
  if (key_appeared) {
    broker.interest_gained(channel, key, on_worker(std::move(then)));
  } else {
    broker.when_ready(channel, key, on_worker(std::move(then)));
  }
}

std::function<void()> WebSocketSession::on_worker(std::function<void(WebSocketSession&)> fn) {
  return [weak = weak_from_this(), executor = worker_.io_context().get_executor(), fn = std::move(fn)] {
    // Runs inline when the broker answers on this worker (standalone), else is posted.
    boost::asio::dispatch(executor, [weak, fn] {
      if (auto self = weak.lock(); self && self->open_) fn(*self);
    });
  };
}

void WebSocketSession::do_read() {
  if (deflate_) {
    read_compressed();
  } else {
    // Read before waiting: bytes may already be there (behind the upgrade request, or
    // arrived since), and the edge-triggered wait would not see them.
    read_available();
  }
}

void WebSocketSession::read_frames() {
  socket_.async_wait_readable(boost::asio::bind_allocator(
      ExactAllocator<void>(), beast::bind_front_handler(&WebSocketSession::on_readable, shared_from_this())));
}

void WebSocketSession::on_readable(boost::system::error_code ec) {
  if (ec) return ended(ec);
  read_available();
}

void WebSocketSession::read_available() {
  // Until the socket has nothing more (asio waits for readiness only after that: its
  // epoll is edge-triggered), but at most kMaxReadsPerTurn reads before the worker's
  // other connections get their turn.
  const auto buffer = worker_.read_buffer();
  for (std::size_t reads = 0; reads < kMaxReadsPerTurn; ++reads) {
    boost::system::error_code ec;
    const auto bytes = socket_.read_now(buffer, ec);
    if (ec == boost::asio::error::would_block) {
      read_frames();
      return;
    }
    if (ec) return ended(ec);
    last_seen_ = steady_clock::now();
    std::string_view input(static_cast<const char*>(buffer.data()), bytes);
    while (!input.empty()) {
      const auto [consumed, event] = parser_.parse(input, message_);
      input.remove_prefix(consumed);
      if (!on_frame_event(event)) return;
    }
  }
  boost::asio::post(worker_.io_context(), [self = shared_from_this()] { self->read_available(); });
}

bool WebSocketSession::on_frame_event(FrameParser::Event event) {
  using Event = FrameParser::Event;
  switch (event) {
    case Event::none:
    case Event::pong: return true;
    case Event::message: finish_message(); return true;
    case Event::ping:
      deliver(std::make_shared<const WireFrame>(WireFrame::Opcode::pong, parser_.control()));
      return true;
    case Event::close:
      context().log.debug("connection {} closed by the peer ({})", id(), parser_.close_code());
      peer_closed_ = true;
      if (!closing_) {
        // Answered with the same code after what is queued (1000 for a close without one).
        closing_ = true;
        close_code_ = parser_.close_code() != 0 ? parser_.close_code() : close_code::normal;
        deadline_ = steady_clock::now() + kCloseGrace;
      }
      break;
    case Event::error:
      context().log.debug("connection {} (user '{}'): protocol error, closing {}: {}", id(), user_id_,
                          parser_.error_code(), parser_.error_reason());
      peer_closed_ = true;  // nothing more is read from a peer that broke the protocol
      if (!close_sent_) {
        closing_ = true;
        close_code_ = parser_.error_code();
        deadline_ = steady_clock::now() + kCloseGrace;
      }
      break;
  }
  // Reading stops here: once our close frame is out (at once if it already is), the
  // connection is torn down, which reads and drops whatever still comes.
  if (close_sent_ && !outbound_.in_flight()) {
    tear_down();
  } else {
    request_flush();
  }
  return false;
}

void WebSocketSession::read_compressed() {
  // Beast decompresses straight into the message's tail, which grows with the message.
  tail_start_ = message_.size();
  const auto room =
      message_.empty() ? kFirstCompressedRead : std::clamp(message_.size(), kMinTailRead, kMaxTailRead);
  message_.resize(tail_start_ + room);
  deflate_->async_read_some(
      boost::asio::buffer(message_.data() + tail_start_, room),
      beast::bind_front_handler(&WebSocketSession::on_read_compressed, shared_from_this()));
}

void WebSocketSession::on_read_compressed(boost::system::error_code ec, std::size_t bytes) {
  message_.resize(tail_start_ + bytes);
  if (ec) {
    if (ec == websocket::error::closed) {
      context().log.debug("connection {} closed ({})", id(), deflate_->reason().code);
      detach();
      return;
    }
    return ended(ec);
  }
  last_seen_ = steady_clock::now();
  if (!deflate_->is_message_done()) {
    read_compressed();
    return;
  }
  finish_message();
  read_compressed();
}

void WebSocketSession::finish_message() {
  if (!closing_) on_message();
  message_.clear();
  // Give back what a large message made the buffer grow to (WS_READ_BUFFER_SIZE is
  // what a connection may keep between messages).
  if (message_.capacity() > context().config.ws_read_buffer_size) message_.shrink_to_fit();
}

void WebSocketSession::ended(const boost::system::error_code& ec) {
  context().log.debug("connection {} ended: {}", id(), ec.message());
  detach();
}

void WebSocketSession::on_message() {
  if (endpoint_ == Endpoint::echo) {
    deliver(std::make_shared<const WireFrame>(
        got_text() ? WireFrame::Opcode::text : WireFrame::Opcode::binary, message_));
    return;
  }
  if (!got_text()) {
    reply(encode_error(ErrorCode::unsupported_data, "binary frames are not supported; send JSON text", {}));
    close(close_code::unsupported_data);
    return;
  }
  auto parsed = worker_.parser().parse_client_message(message_);
  // Every message counts against the rate, malformed ones too; a goodbye is never refused.
  if (auto* err = std::get_if<ProtocolError>(&parsed)) {
    if (within_rate(err->id)) reply(encode_error(err->code, err->message, err->id));
  } else if (auto& message = std::get<ClientMessage>(parsed);
             message.type == MessageType::disconnect || within_rate(message.id)) {
    handle(message);
  }
}

bool WebSocketSession::within_rate(std::string_view request_id) {
  if (inbound_.take(last_seen_)) {
    refused_in_row_ = 0;
    return true;
  }
  const auto& config = context().config;
  if (++refused_in_row_ >= config.ws_message_burst) {
    context().log.info("connection {} (user '{}'): {} messages over WS_MESSAGE_RATE in a row; closing", id(),
                       user_id_, refused_in_row_);
    reply(
        encode_error(ErrorCode::rate_limited, "too many messages over WS_MESSAGE_RATE; closing", request_id));
    close(close_code::rate_limited);
    return false;
  }
  reply(encode_error(ErrorCode::rate_limited,
                     "over WS_MESSAGE_RATE (" + std::to_string(config.ws_message_rate) +
                         " messages/s): this message was refused; slow down",
                     request_id));
  return false;
}

void WebSocketSession::handle(ClientMessage& message) {
  if (!authenticated_ && message.type != MessageType::auth && message.type != MessageType::disconnect) {
    reply(encode_error(ErrorCode::not_authenticated,
                       R"(authenticate first: send {"type":"auth","token":"<JWT>"})", message.id));
    return;
  }
  switch (message.type) {
    case MessageType::subscribe: handle_subscribe(message); break;
    case MessageType::unsubscribe:
      leave_topic(message.topic);
      reply(encode_ack(MessageType::unsubscribe, message.topic, message.id));
      break;
    case MessageType::sync: {
      if (!context().auth.may_publish(*permissions_, user_id_, message.topic)) {
        reply(encode_error(ErrorCode::permission_denied, "not allowed to sync into this topic", message.id));
        break;
      }
      if (context().node.durable(message.topic)) {
        sync_durable(message);
        break;
      }
      // Acked only on request (an id), so fire-and-forget syncs cost no reply; a
      // failure to reach the other nodes is always reported.
      auto ack =
          message.id.empty() ? std::string() : encode_ack(MessageType::sync, message.topic, message.id);
      const auto status = context().node.publish_validated(Publication::Target::topic,
                                                           std::move(message.topic), message.data, id());
      if (status == PublishStatus::broker_unavailable) {
        reply(encode_error(ErrorCode::broker_unavailable,
                           "delivered on this node only: the broker to other nodes is unavailable",
                           message.id));
      } else if (!ack.empty()) {
        reply(std::move(ack));
      }
      break;
    }
    case MessageType::auth: handle_auth(message); break;
    case MessageType::disconnect: close(close_code::normal); break;
    default: break;  // the parser admits no other type
  }
}

void WebSocketSession::sync_durable(ClientMessage& message) {
  auto ack = message.id.empty() ? std::string() : encode_ack(MessageType::sync, message.topic, message.id);
  context().node.publish_durable(
      message.topic, message.data, id(), {},
      [weak = weak_from_this(), executor = worker_.io_context().get_executor(), ack = std::move(ack),
       request_id = message.id](const Stored& stored) {
        boost::asio::dispatch(executor, [weak, ack, request_id, ok = stored.ok] {
          auto self = weak.lock();
          if (!self || !self->open_) return;
          if (!ok) {
            self->reply(encode_error(
                ErrorCode::broker_unavailable,
                "not stored: the history (JetStream) is unreachable; nothing was published", request_id));
          } else if (!ack.empty()) {
            self->reply(ack);
          }
        });
      });
}

void WebSocketSession::handle_subscribe(const ClientMessage& message) {
  if (!context().auth.may_subscribe(*permissions_, user_id_, message.topic)) {
    reply(encode_error(ErrorCode::permission_denied, "not allowed to subscribe to this topic", message.id));
    return;
  }
  auto& hub = worker_.hub();
  const auto max = context().config.max_subscriptions_per_connection;
  if (max != 0 && hub.subscription_count(*this) >= max && !hub.subscribed(*this, message.topic)) {
    reply(encode_error(ErrorCode::too_many_subscriptions,
                       "MAX_SUBSCRIPTIONS_PER_CONNECTION (" + std::to_string(max) +
                           ") reached: unsubscribe from a topic first",
                       message.id));
    return;
  }
  if (const auto* floor = find_offset_floor(message.topic); floor != nullptr && floor->recovering) {
    reply(encode_error(ErrorCode::invalid_message,
                       "a subscribe to this topic is still being answered: wait for its ack", message.id));
    return;
  }
  // On a durable topic, live messages wait from the moment the subscription exists until
  // the history has answered (acknowledge_subscribe): the replay goes first.
  if (context().node.durable(message.topic)) add_offset_floor(message.topic).recovering = true;
  // Acked once the broker delivers the topic from every node (at once standalone).
  const bool appeared = hub.subscribe(*this, message.topic) == IndexChange::key_appeared;
  after_broker(Channel::topic, message.topic, appeared,
               [topic = message.topic, id = message.id, since = message.since](WebSocketSession& self) {
                 self.acknowledge_subscribe(topic, id, since);
               });
}

void WebSocketSession::acknowledge_subscribe(const std::string& topic, const std::string& request_id,
                                             const std::optional<StreamPosition>& since) {
  auto* history = context().node.history();
  if (history == nullptr || !history->durable(topic)) {
    // Nothing to recover from: a "since" is answered recovered:false.
    reply(encode_subscribe_ack(topic, request_id, nullptr, since ? std::optional(false) : std::nullopt));
    return;
  }
  // The subscription is already in the hub (and live messages held since): messages up
  // to the position the history answers with are in the replay (or were before `since`),
  // later ones come live.
  if (auto* floor = find_offset_floor(topic); floor == nullptr || !floor->recovering) return;  // unsubscribed
  history->recover(topic, since,
                   [weak = weak_from_this(), executor = worker_.io_context().get_executor(), topic,
                    request_id, asked_since = since.has_value()](Recovery recovery) {
                     // Inline when the history answers on this worker (standalone), else posted.
                     boost::asio::dispatch(executor, [weak, topic, request_id, asked_since,
                                                      recovery = std::move(recovery)]() mutable {
                       if (auto self = weak.lock(); self && self->open_) {
                         self->finish_recovery(topic, request_id, asked_since, std::move(recovery));
                       }
                     });
                   });
}

void WebSocketSession::finish_recovery(const std::string& topic, const std::string& request_id,
                                       bool asked_since, Recovery recovery) {
  auto* floor = find_offset_floor(topic);
  if (floor == nullptr || !floor->recovering) return;  // unsubscribed meanwhile
  if (!recovery.available) {
    // No position to promise live delivery from: not subscribed, and the client is told
    // so (it may subscribe again), rather than acknowledged and then skipped.
    leave_topic(topic);
    reply(encode_error(ErrorCode::broker_unavailable,
                       "not subscribed: the history (JetStream) did not answer in time; subscribe again",
                       request_id));
    return;
  }
  reply(encode_subscribe_ack(topic, request_id, &recovery.position,
                             asked_since ? std::optional(recovery.recovered) : std::nullopt));
  // The replay and the messages held meanwhile may go over WS_MAX_QUEUE_BYTES (a client
  // back after a long absence); what comes after them may not.
  std::uint64_t replay_bytes = replay_allowance_ + floor->held_bytes;
  for (const auto& frame : recovery.frames) replay_bytes += frame->size();
  replay_allowance_ = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(replay_bytes, std::numeric_limits<std::uint32_t>::max()));
  for (const auto& frame : recovery.frames) deliver(frame);
  floor->recovering = false;
  floor->position = std::move(recovery.position);
  auto held = std::move(floor->held);
  floor->held.clear();
  bool live = floor->position.offset == 0;  // nothing stored: no live copy can be a repeat
  for (auto& message : held) {
    if (!live && message.epoch == floor->position.epoch && message.offset <= floor->position.offset) continue;
    live = true;
    deliver(message.frame);
  }
  if (live) erase_offset_floor(floor);
}

WebSocketSession::OffsetFloor* WebSocketSession::find_offset_floor(std::string_view topic) {
  if (!offset_floors_) return nullptr;
  auto& floors = *offset_floors_;
  const auto it =
      std::find_if(floors.begin(), floors.end(), [topic](const OffsetFloor& f) { return f.topic == topic; });
  return it == floors.end() ? nullptr : &*it;
}

WebSocketSession::OffsetFloor& WebSocketSession::add_offset_floor(const std::string& topic) {
  if (auto* floor = find_offset_floor(topic)) {
    *floor = OffsetFloor{topic};
    return *floor;
  }
  if (!offset_floors_) offset_floors_ = std::make_unique<std::vector<OffsetFloor>>();
  return offset_floors_->emplace_back(OffsetFloor{topic});
}

void WebSocketSession::erase_offset_floor(const OffsetFloor* floor) {
  if (floor == nullptr) return;
  auto& floors = *offset_floors_;
  floors.erase(floors.begin() + (floor - floors.data()));
  if (floors.empty()) offset_floors_.reset();
}

void WebSocketSession::deliver_offset(const Publication& publication) {
  if (auto* floor = find_offset_floor(publication.key)) {
    if (floor->recovering) {
      // Held messages count against WS_MAX_QUEUE_BYTES like queued ones.
      floor->held_bytes += publication.frame->size();
      if (outbound_.bytes() + floor->held_bytes > context().config.ws_max_queue_bytes + replay_allowance_) {
        const auto queued = outbound_.bytes() + floor->held_bytes;
        erase_offset_floor(floor);
        if (!closing_ && open_) cut_slow_consumer(queued);
        return;
      }
      floor->held.push_back(HeldMessage{publication.offset, publication.epoch, publication.frame});
      return;
    }
    if (floor->position.epoch == publication.epoch && publication.offset <= floor->position.offset) return;
    erase_offset_floor(floor);  // live from here on
  }
  deliver(publication.frame);
}

void WebSocketSession::leave_topic(const std::string& topic) {
  erase_offset_floor(find_offset_floor(topic));
  if (worker_.hub().unsubscribe(*this, topic) == IndexChange::key_vanished) {
    context().broker.interest_lost(Channel::topic, topic);
  }
}

void WebSocketSession::drop_forbidden_subscriptions() {
  auto& hub = worker_.hub();
  for (const auto& topic : hub.topics_of(*this)) {
    if (context().auth.may_subscribe(*permissions_, user_id_, topic)) continue;
    leave_topic(topic);
    reply(encode_ack(MessageType::unsubscribe, topic, {}));
  }
}

void WebSocketSession::handle_auth(const ClientMessage& message) {
  auto result = context().auth.identify_token(message.token, std::chrono::system_clock::now());
  if (auto* err = std::get_if<AuthError>(&result)) {
    context().log.debug("connection {}: auth refused: {}", id(), err->message);
    reply(encode_error(err->code, err->message, message.id));
    return;
  }
  auto& identity = std::get<Identity>(result);
  if (authenticated_ && identity.user_id != user_id_) {
    // Subscriptions were granted to the current user; a connection never changes hands.
    reply(
        encode_error(ErrorCode::auth_failed, "token is for another user; open a new connection", message.id));
    return;
  }
  token_expires_ = identity.expires;
  // A refreshed token's permissions apply from now on, also to what it subscribed before.
  permissions_ = std::move(identity.permissions);
  if (authenticated_) drop_forbidden_subscriptions();
  auto auth_ok = [id = message.id](WebSocketSession& self) { self.reply(encode_auth_ok(self.user_id_, id)); };
  if (authenticated_) {
    auth_ok(*this);  // a refreshed token for the same user
    return;
  }
  if (!ticket_.assign_user(identity.user_id)) {
    reply(encode_error(ErrorCode::too_many_connections, "MAX_CONNECTIONS_PER_USER reached for this user",
                       message.id));
    close(close_code::too_many_connections);
    return;
  }
  context().registry.change_user(user_id_, identity.user_id);
  user_id_ = std::move(identity.user_id);
  authenticated_ = true;
  context().log.debug("connection {} authenticated as '{}'", id(), user_id_);
  join_hub(std::move(auth_ok));
}

void WebSocketSession::deliver(const Frame& frame) {
  if (closing_ || !open_) return;
  if (outbound_.bytes() + frame->size() > context().config.ws_max_queue_bytes + replay_allowance_) {
    cut_slow_consumer(outbound_.bytes());
    return;
  }
  outbound_.push(frame);
  request_flush();
}

void WebSocketSession::cut_slow_consumer(std::size_t queued_bytes) {
  context().log.info("connection {} (user '{}'): slow consumer, {} bytes queued; closing", id(), user_id_,
                     queued_bytes);
  // Keep only what is being written; tell the client why, then close.
  outbound_.drop_unsent();
  outbound_.push(make_text_frame(
      encode_error(ErrorCode::slow_consumer, "connection could not keep up with its messages", {})));
  close(close_code::slow_consumer);  // flushes the notice, then the close frame
}

void WebSocketSession::reply(std::string_view text) { deliver(make_text_frame(text)); }

void WebSocketSession::request_flush() {
  if (flush_requested_ || outbound_.in_flight()) return;  // on_write() continues
  flush_requested_ = true;
  worker_.request_flush(shared_from_this());
}

void WebSocketSession::flush() {
  flush_requested_ = false;
  do_write();
}

void WebSocketSession::on_socket_free() {
  if (!flush_requested_) do_write();
}

void WebSocketSession::write_compressed() {
  const Frame frame = outbound_.next_unsent();
  auto batch = outbound_.take(1);
  auto done = beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this());
  if (frame->is_verbatim()) {  // the 101 reply: as it is
    socket().async_write(batch, std::move(done));
    return;
  }
  if (frame->opcode() == WireFrame::Opcode::ping) {
    deflate_->async_ping({}, [done = std::move(done)](boost::system::error_code ec) mutable { done(ec, 0); });
    return;
  }
  deflate_->text(frame->opcode() == WireFrame::Opcode::text);
  deflate_->async_write(boost::asio::buffer(frame->payload()),
                        [frame, done = std::move(done)](boost::system::error_code ec, std::size_t n) mutable {
                          done(ec, n);  // `frame` kept alive until Beast is done with its payload
                        });
}

void WebSocketSession::write_batch() {
  socket_.async_write(outbound_.take(kMaxFramesPerWrite),
                      beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
}

void WebSocketSession::do_write() {
  // Busy with Beast's own write (a pong, the close frame): on_socket_free() resumes.
  if (outbound_.in_flight() || socket().writing()) return;
  if (deflate_) {
    if (!deflate_->is_open()) return;  // Beast is closing: nothing may follow its close frame
    if (outbound_.has_unsent()) {
      write_compressed();
    } else if (closing_ && open_ && !close_sent_) {
      // Everything queued before the close is out; now the close frame.
      close_sent_ = true;
      deflate_->async_close(make_close_reason(close_code_),
                            [self = shared_from_this()](boost::system::error_code) {});
    }
    return;
  }
  if (closing_ && !close_sent_ && !outbound_.has_unsent() && !tearing_down_) {
    // Everything queued before the close is out; now the close frame: the reason is
    // the protocol rule the peer broke, or ours, or none when answering the peer's.
    close_sent_ = true;
    std::string_view reason;
    if (parser_.failed()) {
      reason = parser_.error_reason();
    } else if (!peer_closed_) {
      reason = close_reason_text(close_code_);
    }
    outbound_.push(make_close_frame(close_code_, reason));
  }
  if (outbound_.has_unsent()) write_batch();
}

// Often runs inside do_write() (GatedSocket completes a write the socket took at once
// inline); nothing here writes again directly, so that never recurses.
void WebSocketSession::on_write(boost::system::error_code ec, std::size_t /*bytes*/) {
  outbound_.written();
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
  } else if (close_sent_ && peer_closed_ && !deflate_) {
    tear_down();  // our close frame is out and the peer has nothing more to say
  } else {
    do_write();  // the close frame, if closing
  }
}

void WebSocketSession::close(unsigned short code) {
  if (closing_) return;
  closing_ = true;
  close_code_ = code;
  deadline_ = steady_clock::now() + kCloseGrace;
  request_flush();  // what is queued goes first; do_write() then sends the close frame
}

void WebSocketSession::tear_down() {
  if (tearing_down_) return;
  tearing_down_ = true;
  socket_.async_teardown(beast::role_type::server,
                         [self = shared_from_this()](boost::system::error_code) { self->detach(); });
}

void WebSocketSession::abort(std::string_view why) {
  context().log.debug("connection {} (user '{}'): cut: {}", id(), user_id_, why);
  closing_ = true;
  boost::system::error_code ignored;
  socket().next_layer().close(ignored);
}

void WebSocketSession::on_tick(steady_clock::time_point now, std::chrono::system_clock::time_point wall) {
  const auto& config = context().config;
  if (closing_) {
    if (now >= deadline_) abort("close handshake timed out");
    return;
  }
  if (now - last_seen_ >= config.ws_pong_wait) {
    abort("silent for longer than WS_PONG_WAIT");
    return;
  }
  if (!authenticated_ && now >= deadline_) {
    reply(encode_error(ErrorCode::not_authenticated, "no auth message within AUTH_TIMEOUT", {}));
    close(close_code::auth_timeout);
    return;
  }
  if (token_expires_ && wall >= *token_expires_) {
    reply(
        encode_error(ErrorCode::token_expired, "token expired; send auth with a fresh token before exp", {}));
    close(close_code::token_expired);
    return;
  }
  if (now - last_ping_ >= config.ws_ping_interval) {
    last_ping_ = now;
    deliver(worker_.ping_frame());  // in line with the data: a ping never overtakes a frame
  }
}

void WebSocketSession::shut_down() {
  if (closing_) return;
  reply(encode_disconnect("shutdown", true));
  close(close_code::going_away);
}

void WebSocketSession::detach() {
  if (!open_) return;
  open_ = false;
  closing_ = true;
  worker_.detach(*this);
  if (endpoint_ == Endpoint::sync) {
    for (auto& key : worker_.hub().remove(*this)) context().broker.interest_lost(key.channel, key.name);
    context().registry.remove(user_id_);
  }
  outbound_.drop_unsent(true);
}

}  // namespace natsync
