#include "session/client_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <utility>

#include "logging/log_event.hpp"
#include "protocol/document_messages.hpp"
#include "protocol/error_code.hpp"
#include "protocol/presence_messages.hpp"
#include "protocol/server_message.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {

namespace {

// The answer to a client's patch: its ack with the new revision, or the error.
std::string encode_document_outcome(const DocumentOutcome& outcome, std::string_view topic,
                                    std::string_view request_id) {
  switch (outcome.status) {
    case DocumentOutcome::Status::ok: return encode_patch_ack(topic, request_id, outcome.revision);
    case DocumentOutcome::Status::revision_conflict:
      return encode_error(ErrorCode::revision_conflict, outcome.message, request_id,
                          R"(,"revision":)" + std::to_string(outcome.revision));
    case DocumentOutcome::Status::rejected:
      return encode_error(outcome.code, outcome.message, request_id,
                          outcome.index ? R"(,"index":)" + std::to_string(*outcome.index) : std::string());
    case DocumentOutcome::Status::unavailable: break;
  }
  return encode_error(ErrorCode::internal_error, outcome.message, request_id);
}

// An ack the server API caused: the client did not ask for it.
std::string with_server_flag(std::string ack, bool server) {
  if (server) ack.insert(ack.size() - 1, R"(,"server":true)");
  return ack;
}

}  // namespace

ClientSession::ClientSession(Transport& transport, WorkerServices& services, std::optional<Identity> identity,
                             ConnectionLimiter::Ticket ticket)
    : Subscriber(services.server.registry.next_connection_id()),
      transport_(transport),
      services_(services),
      ticket_(std::move(ticket)),
      inbound_(static_cast<double>(services.server.config.ws_message_rate),
               static_cast<double>(services.server.config.ws_message_burst), Clock::now()),
      authenticated_(identity.has_value()) {
  if (identity) {
    user_id_ = std::move(identity->user_id);
    token_expires_ = identity->expires;
    permissions_ = std::move(identity->permissions);
  }
}

ClientSession::~ClientSession() { on_closed(); }

void ClientSession::on_open() {
  open_ = true;
  if (!authenticated_) auth_deadline_ = Clock::now() + context().config.auth_timeout;
  context().registry.add(user_id_);
  log_event(context().log, spdlog::level::debug,
            authenticated_ ? "connection open" : "connection open, awaiting auth",
            {{"connection_id", id()}, {"user_id", user_id_}, {"client_id", client_id()}});
  // `connect` is the first message on every connection (docs/protocol.md; clients rely
  // on it): nothing the client sends is read, so nothing is answered, before it is out.
  // In cluster mode it waits for the broker to deliver to the user from every node;
  // with no read pending meanwhile, this callback keeps the connection alive.
  const auto connect_then_read = [keep_alive = transport_.lifetime().lock()](ClientSession& self) {
    self.reply(encode_connect(self.client_id(), self.user_id_));
    self.transport_.start_reading();
  };
  // An unauthenticated connection (JWT mode, no token yet) joins the hub only once it
  // authenticates, so not even a broadcast reaches it before then.
  if (authenticated_) {
    join_hub(connect_then_read);
  } else {
    connect_then_read(*this);
  }
}

void ClientSession::on_closed() {
  if (!open_) return;
  open_ = false;
  if (context().node.presence() != nullptr) {
    for (const auto& topic : services_.hub.topics_of(*this)) leave_presence(topic);
  }
  for (auto& key : services_.hub.remove(*this)) context().broker.interest_lost(key.channel, key.name);
  context().registry.remove(user_id_);
}

void ClientSession::join_hub(Then then) {
  const bool first_of_user = services_.hub.add(*this, user_id_);
  if (user_id_.empty()) {
    then(*this);  // anonymous (development mode): no user key to wait for
  } else {
    after_broker(Channel::user, user_id_, first_of_user, std::move(then));
  }
}

void ClientSession::after_broker(Channel channel, const std::string& key, bool key_appeared, Then then) {
  auto& broker = context().broker;
  if (key_appeared) {
    broker.interest_gained(channel, key, on_worker(std::move(then)));
  } else {
    broker.when_ready(channel, key, on_worker(std::move(then)));
  }
}

void ClientSession::on_message(std::string_view message, bool text, Clock::time_point now) {
  if (!text) {
    reply_error(ErrorCode::unsupported_data, "binary frames are not supported; send JSON text", {});
    transport_.close(close_code::unsupported_data);
    return;
  }
  auto parsed = services_.parser.parse_client_message(message);
  // Every message counts against the rate, malformed ones too; a goodbye is never refused.
  if (auto* err = std::get_if<ProtocolError>(&parsed)) {
    if (within_rate(err->id, now)) reply_error(err->code, err->message, err->id);
  } else if (auto& client_message = std::get<ClientMessage>(parsed);
             client_message.type == MessageType::disconnect || within_rate(client_message.id, now)) {
    handle(client_message);
  }
}

bool ClientSession::within_rate(std::string_view request_id, Clock::time_point now) {
  if (inbound_.take(now)) {
    refused_in_row_ = 0;
    return true;
  }
  const auto& config = context().config;
  if (++refused_in_row_ >= config.ws_message_burst) {
    log_event(context().log, spdlog::level::info, "messages over WS_MESSAGE_RATE in a row; closing",
              {{"connection_id", id()},
               {"user_id", user_id_},
               {"refused", refused_in_row_},
               {"code", close_code::rate_limited}});
    reply_error(ErrorCode::rate_limited, "too many messages over WS_MESSAGE_RATE; closing", request_id);
    transport_.close(close_code::rate_limited);
    return false;
  }
  reply_error(ErrorCode::rate_limited,
              "over WS_MESSAGE_RATE (" + std::to_string(config.ws_message_rate) +
                  " messages/s): this message was refused; slow down",
              request_id);
  return false;
}

void ClientSession::handle(ClientMessage& message) {
  services_.metrics.count_message(message.type);
  // The heartbeat is answered whether or not the client has authenticated: it only says
  // that this connection is alive both ways.
  if (message.type == MessageType::ping) {
    reply(encode_ack(MessageType::pong, {}, message.id));
    return;
  }
  if (!authenticated_ && message.type != MessageType::auth && message.type != MessageType::disconnect) {
    reply_error(ErrorCode::not_authenticated, R"(authenticate first: send {"type":"auth","token":"<JWT>"})",
                message.id);
    return;
  }
  switch (message.type) {
    case MessageType::subscribe: handle_subscribe(message); break;
    case MessageType::unsubscribe:
      leave_topic(message.topic);
      reply(encode_ack(MessageType::unsubscribe, message.topic, message.id));
      break;
    case MessageType::sync: handle_sync(message); break;
    case MessageType::patch: handle_patch(message); break;
    case MessageType::presence: handle_presence(message); break;
    case MessageType::auth: handle_auth(message); break;
    case MessageType::disconnect: transport_.close(close_code::normal); break;
    default: break;  // the parser admits no other type
  }
}

void ClientSession::handle_sync(ClientMessage& message) {
  if (!context().auth.may_publish(*permissions_, user_id_, message.topic)) {
    reply_error(ErrorCode::permission_denied, "not allowed to sync into this topic", message.id);
    return;
  }
  if (context().node.document(message.topic)) {
    reply_error(ErrorCode::invalid_message,
                "this topic is a document (DOCUMENT_TOPICS): change it with patch, not sync", message.id);
    return;
  }
  if (context().node.durable(message.topic)) {
    sync_durable(message);
    return;
  }
  // An idempotency key is accepted and not remembered here: a topic without history
  // promises nothing about a resend (clients such as natsync-client key every publish).
  // Acked only on request (an id), so fire-and-forget syncs cost no reply; a failure to
  // reach the other nodes is always reported.
  auto ack = message.id.empty() ? std::string() : encode_ack(MessageType::sync, message.topic, message.id);
  context().node.metrics().published(PublicationSource::sync);
  const auto status = context().node.publish_validated(Publication::Target::topic, std::move(message.topic),
                                                       message.data, id());
  if (status == PublishStatus::broker_unavailable) {
    reply_error(ErrorCode::broker_unavailable,
                "delivered on this node only: the broker to other nodes is unavailable", message.id);
  } else if (!ack.empty()) {
    reply(ack);
  }
}

void ClientSession::sync_durable(ClientMessage& message) {
  context().node.metrics().published(PublicationSource::sync);
  context().node.publish_durable(
      message.topic, message.data, id(), message.idempotency_key,
      on_worker([topic = message.topic, request_id = message.id](ClientSession& self, const Stored& stored) {
        if (!stored.ok) {
          self.reply_error(ErrorCode::broker_unavailable,
                           "not stored: the history (JetStream) is unreachable; nothing was published",
                           request_id);
        } else if (!request_id.empty()) {
          self.reply(encode_durable_sync_ack(topic, request_id, stored.position, stored.duplicate));
        }
      }));
}

void ClientSession::handle_subscribe(const ClientMessage& message) {
  if (!context().auth.may_subscribe(*permissions_, user_id_, message.topic)) {
    reply_error(ErrorCode::permission_denied, "not allowed to subscribe to this topic", message.id);
    return;
  }
  auto& hub = services_.hub;
  const auto max = context().config.max_subscriptions_per_connection;
  if (max != 0 && hub.subscription_count(*this) >= max && !hub.subscribed(*this, message.topic)) {
    reply_error(ErrorCode::too_many_subscriptions,
                "MAX_SUBSCRIPTIONS_PER_CONNECTION (" + std::to_string(max) +
                    ") reached: unsubscribe from a topic first",
                message.id);
    return;
  }
  if (seam_.recovering(message.topic)) {
    reply_error(ErrorCode::invalid_message,
                "a subscribe to this topic is still being answered: wait for its ack", message.id);
    return;
  }
  subscribe_to(message.topic, message.id, message.since, false);
}

void ClientSession::subscribe_to(const std::string& topic, const std::string& request_id,
                                 const std::optional<StreamPosition>& since, bool server) {
  // On a durable topic or a document, live messages wait from the moment the
  // subscription exists until the history (or the document) has answered
  // (acknowledge_subscribe): the replay or the snapshot goes first. A pattern recovers
  // nothing and gets no document changes: it is live from its ack on.
  if (!is_pattern(topic) && (context().node.durable(topic) || context().node.document(topic)))
    seam_.begin(topic);
  // Acked once the broker delivers the topic from every node (at once standalone).
  const bool appeared = services_.hub.subscribe(*this, topic) == IndexChange::key_appeared;
  after_broker(Channel::topic, topic, appeared, [topic, request_id, since, server](ClientSession& self) {
    self.acknowledge_subscribe(topic, request_id, since, server);
  });
}

void ClientSession::acknowledge_subscribe(const std::string& topic, const std::string& request_id,
                                          const std::optional<StreamPosition>& since, bool server) {
  auto* history = context().node.history();
  join_presence(topic);
  if (context().node.document(topic) && !is_pattern(topic)) {
    recover_document(topic, request_id, since, server);
    return;
  }
  if (is_pattern(topic) || !context().node.durable(topic)) {
    // Nothing to recover from: a "since" is answered recovered:false.
    if (since) context().node.metrics().recovery(false);
    reply(with_server_flag(
        encode_subscribe_ack(topic, request_id, nullptr, since ? std::optional(false) : std::nullopt),
        server));
    return;
  }
  // The subscription is already in the hub (and live messages held since): messages up
  // to the position the history answers with are in the replay (or were before `since`),
  // later ones come live.
  if (!seam_.recovering(topic)) return;  // unsubscribed meanwhile
  history->recover(topic, since,
                   on_worker([topic, request_id, asked_since = since.has_value(), server](ClientSession& self,
                                                                                          Recovery recovery) {
                     self.finish_recovery(topic, request_id, asked_since, server, std::move(recovery));
                   }));
}

void ClientSession::finish_recovery(const std::string& topic, const std::string& request_id, bool asked_since,
                                    bool server, Recovery recovery) {
  if (!seam_.recovering(topic)) return;  // unsubscribed meanwhile
  if (!recovery.available) {
    // No position to promise live delivery from: not subscribed, and the client is told
    // so (it may subscribe again), rather than acknowledged and then skipped.
    leave_topic(topic);
    reply_error(ErrorCode::broker_unavailable,
                "not subscribed: the history (JetStream) did not answer in time; subscribe again",
                request_id);
    return;
  }
  if (asked_since) context().node.metrics().recovery(recovery.recovered);
  reply(with_server_flag(encode_subscribe_ack(topic, request_id, &recovery.position,
                                              asked_since ? std::optional(recovery.recovered) : std::nullopt),
                         server));
  deliver_catch_up(topic, recovery.frames, recovery.position);
}

void ClientSession::deliver_catch_up(const std::string& topic, const std::vector<Frame>& frames,
                                     const StreamPosition& position) {
  // The replay and the messages held meanwhile may go over WS_MAX_QUEUE_BYTES (a client
  // back after a long absence, a large snapshot); what comes after them may not.
  std::size_t catch_up_bytes = seam_.held_bytes(topic);
  for (const auto& frame : frames) catch_up_bytes += frame->size();
  transport_.allow_over_bound(catch_up_bytes);
  for (const auto& frame : frames) deliver(frame);
  for (const auto& frame : seam_.finish(topic, position)) deliver(frame);
}

void ClientSession::recover_document(const std::string& topic, const std::string& request_id,
                                     const std::optional<StreamPosition>& since, bool server) {
  if (!seam_.recovering(topic)) return;  // unsubscribed meanwhile
  context().node.documents()->recover(topic, since,
                                      on_worker([topic, request_id, asked_since = since.has_value(), server](
                                                    ClientSession& self, DocumentRecovery recovery) {
                                        self.finish_document_recovery(topic, request_id, asked_since, server,
                                                                      std::move(recovery));
                                      }));
}

void ClientSession::finish_document_recovery(const std::string& topic, const std::string& request_id,
                                             bool asked_since, bool server, DocumentRecovery recovery) {
  if (!seam_.recovering(topic)) return;  // unsubscribed meanwhile
  if (!recovery.available) {
    leave_topic(topic);
    reply_error(ErrorCode::internal_error, "not subscribed: the document could not be read; subscribe again",
                request_id);
    return;
  }
  if (asked_since) context().node.metrics().recovery(recovery.recovered);
  reply(with_server_flag(
      encode_document_subscribe_ack(topic, request_id, recovery.position.offset, recovery.position.epoch,
                                    asked_since ? std::optional(recovery.recovered) : std::nullopt),
      server));
  deliver_catch_up(topic, recovery.frames, recovery.position);
}

void ClientSession::handle_patch(ClientMessage& message) {
  if (!context().node.document(message.topic)) {
    reply_error(ErrorCode::invalid_message,
                "this topic is not a document: it matches no DOCUMENT_TOPICS pattern (publish with sync)",
                message.id);
    return;
  }
  if (!context().auth.may_publish(*permissions_, user_id_, message.topic)) {
    reply_error(ErrorCode::forbidden, "not allowed to change this document", message.id);
    return;
  }
  context().node.documents()->change(message.topic, message.change,
                                     on_worker([topic = message.topic, request_id = message.id](
                                                   ClientSession& self, const DocumentOutcome& outcome) {
                                       self.count_document_outcome(outcome);
                                       self.reply(encode_document_outcome(outcome, topic, request_id));
                                     }));
}

void ClientSession::deliver_offset(const Publication& publication) {
  switch (seam_.admit(publication)) {
    case RecoverySeam::Live::deliver: deliver(publication.frame); return;
    case RecoverySeam::Live::repeat: return;
    case RecoverySeam::Live::held:
      // Held messages count against the queue's bound like queued ones.
      if (!transport_.has_room(seam_.held_bytes(publication.key))) {
        seam_.forget(publication.key);
        if (!transport_.closing() && open_) cut_slow_consumer();
      }
      return;
  }
}

void ClientSession::leave_topic(const std::string& topic) {
  seam_.forget(topic);
  const auto change = services_.hub.unsubscribe(*this, topic);
  if (change == IndexChange::unchanged) return;
  if (change == IndexChange::key_vanished) context().broker.interest_lost(Channel::topic, topic);
  leave_presence(topic);
}

std::string ClientSession::client_id() const {
  // Connection ids count per process: in a cluster the node's id makes them unique.
  const auto& config = context().config;
  return config.nats_servers.empty() ? std::to_string(id()) : config.node_id + "-" + std::to_string(id());
}

void ClientSession::join_presence(const std::string& topic) {
  auto* presence = context().node.presence();
  if (presence == nullptr || is_pattern(topic) || !presence->tracked(topic)) return;
  // Unsubscribed (or cut) while the subscription was being set up: no member.
  if (!services_.hub.subscribed(*this, topic)) return;
  presence->join(topic, PresenceMember{client_id(), user_id_}, id());
}

void ClientSession::leave_presence(const std::string& topic) {
  auto* presence = context().node.presence();
  if (presence == nullptr || is_pattern(topic) || !presence->tracked(topic)) return;
  presence->leave(topic, PresenceMember{client_id(), user_id_});
}

void ClientSession::handle_presence(const ClientMessage& message) {
  auto data = context().node.presence_of(message.topic);
  if (!data) {
    reply_error(ErrorCode::invalid_message,
                "this topic has no presence: it matches no PRESENCE_TOPICS pattern", message.id);
    return;
  }
  if (!context().auth.may_subscribe(*permissions_, user_id_, message.topic)) {
    reply_error(ErrorCode::permission_denied,
                "not allowed to subscribe to this topic, nor to see its members", message.id);
    return;
  }
  reply(encode_presence_reply(message.topic, message.id, *data));
}

void ClientSession::on_server_command(const ServerCommand& command) {
  if (!open_ || !authenticated_ || transport_.closing()) return;
  switch (command.kind) {
    case ServerCommand::Kind::subscribe:
      // The back end decides: no permission or subscription-count check. Already
      // subscribed (or being subscribed): nothing to do.
      if (services_.hub.subscribed(*this, command.topic)) return;
      subscribe_to(command.topic, {}, std::nullopt, true);
      return;
    case ServerCommand::Kind::unsubscribe:
      if (!services_.hub.subscribed(*this, command.topic)) return;
      leave_topic(command.topic);
      reply(with_server_flag(encode_ack(MessageType::unsubscribe, command.topic, {}), true));
      return;
    case ServerCommand::Kind::disconnect:
      reply(encode_disconnect(command.reason, command.reconnect));
      transport_.close(command.reconnect ? close_code::server_disconnect
                                         : close_code::server_disconnect_final);
      return;
  }
}

void ClientSession::drop_forbidden_subscriptions() {
  for (const auto& topic : services_.hub.topics_of(*this)) {
    if (context().auth.may_subscribe(*permissions_, user_id_, topic)) continue;
    leave_topic(topic);
    reply(encode_ack(MessageType::unsubscribe, topic, {}));
  }
}

void ClientSession::handle_auth(const ClientMessage& message) {
  auto result = context().auth.identify_token(message.token, std::chrono::system_clock::now());
  if (auto* err = std::get_if<AuthError>(&result)) {
    log_event(context().log, spdlog::level::debug, "auth refused",
              {{"connection_id", id()}, {"error", to_string(err->code)}, {"reason", err->message}});
    context().node.metrics().auth_failed(auth_failure_for(err->code));
    reply_error(err->code, err->message, message.id);
    return;
  }
  auto& identity = std::get<Identity>(result);
  if (authenticated_ && identity.user_id != user_id_) {
    context().node.metrics().auth_failed(AuthFailure::wrong_user);
    // Subscriptions were granted to the current user; a connection never changes hands.
    reply_error(ErrorCode::auth_failed, "token is for another user; open a new connection", message.id);
    return;
  }
  token_expires_ = identity.expires;
  // A refreshed token's permissions apply from now on, also to what it subscribed before.
  permissions_ = std::move(identity.permissions);
  auto auth_ok = [id = message.id](ClientSession& self) { self.reply(encode_auth_ok(self.user_id_, id)); };
  if (authenticated_) {
    drop_forbidden_subscriptions();
    auth_ok(*this);  // a refreshed token for the same user
    return;
  }
  if (!ticket_.assign_user(identity.user_id)) {
    reply_error(ErrorCode::too_many_connections, "MAX_CONNECTIONS_PER_USER reached for this user",
                message.id);
    transport_.close(close_code::too_many_connections);
    return;
  }
  context().registry.change_user(user_id_, identity.user_id);
  user_id_ = std::move(identity.user_id);
  authenticated_ = true;
  log_event(context().log, spdlog::level::debug, "connection authenticated",
            {{"connection_id", id()}, {"user_id", user_id_}});
  join_hub(std::move(auth_ok));
}

void ClientSession::deliver(const Frame& frame) {
  if (!transport_.send(frame)) cut_slow_consumer();
}

void ClientSession::on_overflow() { cut_slow_consumer(); }

void ClientSession::cut_slow_consumer() {
  if (transport_.closing()) return;
  log_event(context().log, spdlog::level::info, "slow consumer; closing",
            {{"connection_id", id()},
             {"user_id", user_id_},
             {"queued_bytes", transport_.queued_bytes()},
             {"code", close_code::slow_consumer}});
  services_.metrics.slow_consumer_disconnects.add();
  services_.metrics.count_error(ErrorCode::slow_consumer);
  // Only what is being written is kept; the client is told why, then the close follows.
  transport_.cut(make_text_frame(encode_error(ErrorCode::slow_consumer,
                                              "connection could not keep up with its messages", {})),
                 close_code::slow_consumer);
}

void ClientSession::count_document_outcome(const DocumentOutcome& outcome) {
  switch (outcome.status) {
    case DocumentOutcome::Status::ok: context().node.metrics().document_patches.add(); return;
    case DocumentOutcome::Status::revision_conflict:
      services_.metrics.count_error(ErrorCode::revision_conflict);
      return;
    case DocumentOutcome::Status::rejected: services_.metrics.count_error(outcome.code); return;
    case DocumentOutcome::Status::unavailable:
      services_.metrics.count_error(ErrorCode::internal_error);
      return;
  }
}

void ClientSession::reply(std::string_view text) { deliver(make_text_frame(text)); }

void ClientSession::on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall) {
  if (!authenticated_ && now >= auth_deadline_) {
    reply_error(ErrorCode::not_authenticated, "no auth message within AUTH_TIMEOUT", {});
    transport_.close(close_code::auth_timeout);
    return;
  }
  if (token_expires_ && wall >= *token_expires_) {
    reply_error(ErrorCode::token_expired, "token expired; send auth with a fresh token before exp", {});
    transport_.close(close_code::token_expired);
  }
}

void ClientSession::on_shutdown() {
  if (transport_.closing()) return;
  reply(encode_disconnect("shutdown", true));
  transport_.close(close_code::going_away);
}

}  // namespace natsync
