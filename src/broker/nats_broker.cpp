#include "broker/nats_broker.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <stdexcept>

#include "broker/nats_options.hpp"

#include "protocol/server_message.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {
namespace {

constexpr int kFlushTimeoutMs = 2000;
// Per-subscription buffering in nats.c before it drops messages as a slow consumer:
// far above what a healthy delivery thread ever holds.
constexpr int kPendingMessages = 1'000'000;
constexpr int kPendingBytes = 512 * 1024 * 1024;

std::string connected_url(natsConnection* connection) {
  char url[256] = {0};
  if (natsConnection_GetConnectedUrl(connection, url, sizeof(url)) != NATS_OK) return "?";
  return url;
}

}  // namespace

NatsBroker::NatsBroker(NatsSettings settings, const Hub& hub, const ConnectionRegistry& registry,
                       spdlog::logger& log)
    : settings_(std::move(settings)),
      subjects_(settings_.subject_prefix),
      hub_(hub),
      registry_(registry),
      log_(log),
      work_(io_context_.get_executor()),
      heartbeat_timer_(io_context_),
      queue_group_(settings_.subject_prefix + ".q." + SubjectMap::encode_user(settings_.node_id)) {}

NatsBroker::~NatsBroker() { stop(); }

void NatsBroker::start() {
  options_ = make_nats_options(settings_.servers, "natsync " + settings_.node_id);
  check_nats(natsOptions_SetNoEcho(options_, true), "no-echo");
  check_nats(natsOptions_SetReconnectBufSize(options_, static_cast<int>(settings_.reconnect_buffer_bytes)),
             "reconnect buffer");
  check_nats(natsOptions_SetDisconnectedCB(options_, &NatsBroker::on_disconnected, this), "callbacks");
  check_nats(natsOptions_SetReconnectedCB(options_, &NatsBroker::on_reconnected, this), "callbacks");
  check_nats(natsOptions_SetClosedCB(options_, &NatsBroker::on_closed, this), "callbacks");
  check_nats(natsOptions_SetErrorHandler(options_, &NatsBroker::on_error, this), "callbacks");
  check_nats(natsOptions_SetRetryOnFailedConnect(options_, true, &NatsBroker::on_connected, this), "retry");

  const natsStatus status = natsConnection_Connect(&connection_, options_);
  if (status == NATS_OK) {
    connected_ = true;
    log_.info("NATS connected to {} (node {})", connected_url(connection_), settings_.node_id);
  } else if (status == NATS_NOT_YET_CONNECTED) {
    std::string urls;
    for (const auto& server : settings_.servers) urls += (urls.empty() ? "" : ",") + server;
    log_.warn("NATS not reachable yet at {}: serving local clients, retrying in the background", urls);
  } else {
    check_nats(status, "connect");
  }

  // The node channels' own connection (echo on: see nats_broker.hpp).
  control_options_ = make_nats_options(settings_.servers, "natsync " + settings_.node_id + " control");
  check_nats(natsOptions_SetReconnectedCB(control_options_, &NatsBroker::on_control_connected, this),
             "callbacks");
  check_nats(natsOptions_SetClosedCB(control_options_, &NatsBroker::on_control_closed, this), "callbacks");
  check_nats(
      natsOptions_SetRetryOnFailedConnect(control_options_, true, &NatsBroker::on_control_connected, this),
      "retry");
  const natsStatus control_status = natsConnection_Connect(&control_, control_options_);
  if (control_status == NATS_OK) {
    control_connected_ = true;
  } else if (control_status != NATS_NOT_YET_CONNECTED) {
    check_nats(control_status, "connect");
  }

  thread_ = std::thread([this] { io_context_.run(); });
  boost::asio::post(io_context_, [this] {
    subscribe(Kind::all, {})->holders = 1;
    subscribe(Kind::nodes, {})->holders = 1;
    for (const auto& [channel, handler] : node_handlers_) subscribe(Kind::node_message, channel)->holders = 1;
    for (const auto& [channel, handler] : request_handlers_)
      subscribe(Kind::node_message, channel)->holders = 1;
    flush();
    if (control_connected_) {
      natsConnection_FlushTimeout(control_, kFlushTimeoutMs);  // its subscriptions are in place
      if (joined_handler_) joined_handler_();
    }
    schedule_heartbeat();
  });
}

void NatsBroker::stop() {
  if (stopping_.exchange(true) || !options_) return;
  // Unsubscribe on the broker thread (it owns the table), then let it finish.
  boost::asio::post(io_context_, [this] {
    heartbeat_timer_.cancel();
    for (auto& [subject, interest] : interests_) {
      if (interest->subscription == nullptr) {
        delete interest;  // its subscribe failed: nats.c never saw it
        continue;
      }
      // From Unsubscribe on, on_complete may delete `interest` on another thread.
      natsSubscription* subscription = interest->subscription;
      natsSubscription_Unsubscribe(subscription);
      natsSubscription_Destroy(subscription);
    }
    interests_.clear();
    awaiting_flush_.clear();  // their sessions are gone; nobody waits for these acks
    destroy_drained();
    work_.reset();
  });
  if (thread_.joinable()) thread_.join();
  if (connection_) {
    natsConnection_Close(connection_);
    natsConnection_Close(control_);
    // Every Interest is deleted by on_complete once nats.c can no longer call its
    // handler, and nats.c's callback thread delivers on_closed after every other
    // connection callback: only when both happened may this object go away.
    std::unique_lock lock(live_mutex_);
    if (!live_changed_.wait_for(lock, std::chrono::seconds(5), [this] {
          return live_interests_ == 0 && connection_closed_ && control_closed_;
        })) {
      log_.error("NATS: {} subscriptions (closed: {}) did not complete within 5 s", live_interests_,
                 connection_closed_);
    }
    auto drained = std::move(drained_);
    lock.unlock();
    for (auto* subscription : drained) natsSubscription_Destroy(subscription);
    natsConnection_Destroy(connection_);
    natsConnection_Destroy(control_);
    connection_ = nullptr;
    control_ = nullptr;
  }
  natsOptions_Destroy(options_);
  natsOptions_Destroy(control_options_);
  options_ = nullptr;
  control_options_ = nullptr;
  connected_ = false;
}

NatsBroker::Kind NatsBroker::kind_of(Channel channel) {
  return channel == Channel::topic ? Kind::topic : Kind::user;
}

NatsBroker::Kind NatsBroker::kind_of(Publication::Target target) {
  switch (target) {
    case Publication::Target::topic: return Kind::topic;
    case Publication::Target::user: return Kind::user;
    case Publication::Target::all: return Kind::all;
  }
  return Kind::all;
}

std::string NatsBroker::subject_for(Kind kind, const std::string& key) const {
  switch (kind) {
    case Kind::topic: return subjects_.topic(key);
    case Kind::user: return subjects_.user(key);
    case Kind::all: return subjects_.all();
    case Kind::nodes: return subjects_.nodes();
    case Kind::node_message: return settings_.subject_prefix + ".n." + key;
  }
  return {};
}

bool NatsBroker::publish(PublicationPtr publication) {
  hub_.dispatch(publication);  // this node's subscribers, without a NATS round trip
  if (stopping_) return false;
  const auto subject = subject_for(kind_of(publication->target), publication->key);
  const auto data = frame_data(publication->frame->payload());
  const natsStatus status =
      natsConnection_Publish(connection_, subject.c_str(), data.data(), static_cast<int>(data.size()));
  if (status == NATS_OK) return true;
  // While reconnecting nats.c buffers up to reconnect_buffer_bytes; past that (or
  // when closed) the publish fails and the caller is told (REST: 503).
  if (publish_failures_.fetch_add(1) % 1000 == 0) {
    log_.warn("NATS publish failed ({}): {} publications not handed to other nodes so far",
              natsStatus_GetText(status), publish_failures_.load());
  }
  return false;
}

void NatsBroker::interest_gained(Channel channel, const std::string& key, ReadyFn on_ready) {
  const Kind kind = kind_of(channel);
  boost::asio::post(io_context_, [this, kind, key, on_ready = std::move(on_ready)]() mutable {
    Interest* interest = subscribe(kind, key);
    ++interest->holders;
    if (interest->ready) {
      on_ready();
    } else {
      interest->waiting.push_back(std::move(on_ready));
    }
  });
}

void NatsBroker::interest_lost(Channel channel, const std::string& key) {
  if (stopping_) return;
  const Kind kind = kind_of(channel);
  boost::asio::post(io_context_, [this, subject = subject_for(kind, key)] {
    auto it = interests_.find(subject);
    if (it == interests_.end()) return;
    Interest* interest = it->second;
    if (--interest->holders > 0) return;
    interests_.erase(it);
    unsubscribe(interest);
  });
}

void NatsBroker::when_ready(Channel channel, const std::string& key, ReadyFn on_ready) {
  const Kind kind = kind_of(channel);
  boost::asio::post(io_context_,
                    [this, subject = subject_for(kind, key), on_ready = std::move(on_ready)]() mutable {
                      auto it = interests_.find(subject);
                      if (it == interests_.end() || it->second->ready) {
                        on_ready();
                      } else {
                        it->second->waiting.push_back(std::move(on_ready));
                      }
                    });
}

NatsBroker::Interest* NatsBroker::subscribe(Kind kind, const std::string& key) {
  auto subject = subject_for(kind, key);
  if (auto it = interests_.find(subject); it != interests_.end()) return it->second;
  auto* interest = new Interest{this, kind,  key, subject, nullptr,
                                0,    false, {},  false,   kind == Kind::topic && is_pattern(key)};
  // Topics (and patterns) in this node's queue group: each message once per node.
  const natsStatus status =
      kind == Kind::topic
          ? natsConnection_QueueSubscribe(&interest->subscription, connection_, subject.c_str(),
                                          queue_group_.c_str(), &NatsBroker::on_message, interest)
          : natsConnection_Subscribe(&interest->subscription,
                                     kind == Kind::node_message ? control_ : connection_, subject.c_str(),
                                     &NatsBroker::on_message, interest);
  if (status != NATS_OK) {
    // Only a closed connection refuses; local delivery still works, so say so and go on.
    log_.error("NATS subscribe to {} failed: {}", subject, natsStatus_GetText(status));
    interest->ready = true;
    interests_.emplace(std::move(subject), interest);
    return interest;
  }
  {
    std::lock_guard lock(live_mutex_);
    ++live_interests_;
  }
  natsSubscription_SetOnCompleteCB(interest->subscription, &NatsBroker::on_complete, interest);
  natsSubscription_SetPendingLimits(interest->subscription, kPendingMessages, kPendingBytes);
  interests_.emplace(std::move(subject), interest);
  // broker_subscriptions in status: what clients' interest costs (not the node channels).
  if (kind != Kind::node_message) subscription_count_.fetch_add(1);
  awaiting_flush_.push_back(interest);
  schedule_flush();
  return interest;
}

void NatsBroker::unsubscribe(Interest* interest) {
  for (auto& ready : interest->waiting) ready();
  interest->waiting.clear();
  std::erase(awaiting_flush_, interest);
  if (interest->subscription == nullptr) {
    delete interest;  // never reached nats.c
    return;
  }
  subscription_count_.fetch_sub(1);
  // From Unsubscribe (or Drain) on, on_complete may delete `interest` on nats.c's thread.
  natsSubscription* subscription = interest->subscription;
  if (interest->kind == Kind::topic) {
    // In the queue group, NATS may have handed this subscription a message that another
    // one of ours also wants: a drain still delivers what arrived before the UNSUB.
    interest->draining = true;
    if (natsSubscription_Drain(subscription) == NATS_OK) return;  // destroyed once complete
    interest->draining = false;
  }
  natsSubscription_Unsubscribe(subscription);
  natsSubscription_Destroy(subscription);
}

void NatsBroker::destroy_drained() {
  std::vector<natsSubscription*> drained;
  {
    std::lock_guard lock(live_mutex_);
    drained.swap(drained_);
  }
  for (auto* subscription : drained) natsSubscription_Destroy(subscription);
}

void NatsBroker::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Posted, so that every interest change already queued joins this one round trip.
  boost::asio::post(io_context_, [this] { flush(); });
}

void NatsBroker::flush() {
  flush_scheduled_ = false;
  destroy_drained();
  if (awaiting_flush_.empty()) return;
  auto batch = std::move(awaiting_flush_);
  awaiting_flush_.clear();
  // A PING/PONG round trip: once the server answers, it has our SUBs, so anything
  // published anywhere from now on reaches this node. While disconnected there is no
  // one to ask; the SUBs are replayed on reconnect, and the acks go out now.
  if (connected_) {
    const natsStatus status = natsConnection_FlushTimeout(connection_, kFlushTimeoutMs);
    if (status != NATS_OK) log_.warn("NATS flush after subscribe: {}", natsStatus_GetText(status));
  }
  for (auto* interest : batch) {
    interest->ready = true;
    for (auto& ready : interest->waiting) ready();
    interest->waiting.clear();
  }
}

void NatsBroker::publish_heartbeat() {
  const std::string body = R"({"node":)" + json_quote(settings_.node_id) + R"(,"connections":)" +
                           std::to_string(registry_.connections()) + "}";
  natsConnection_Publish(connection_, subjects_.nodes().c_str(), body.data(), static_cast<int>(body.size()));
}

void NatsBroker::schedule_heartbeat() {
  publish_heartbeat();
  heartbeat_timer_.expires_after(settings_.heartbeat);
  heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
    // stop()'s cancel() misses a completion already queued; without this check it would
    // arm the timer again and the broker thread would never end.
    if (!ec && !stopping_) schedule_heartbeat();
  });
}

void NatsBroker::on_message(natsConnection* /*connection*/, natsSubscription* /*subscription*/,
                            natsMsg* message, void* closure) {
  auto& interest = *static_cast<Interest*>(closure);
  if (!interest.owner->stopping_) interest.owner->deliver(interest, message);
  natsMsg_Destroy(message);
}

void NatsBroker::deliver(Interest& interest, natsMsg* message) {
  const std::string_view body(natsMsg_GetData(message),
                              static_cast<std::size_t>(natsMsg_GetDataLength(message)));
  if (interest.kind == Kind::nodes) {
    record_heartbeat(body);
    return;
  }
  if (interest.kind == Kind::node_message) {
    deliver_node_message(interest, message);
    return;
  }
  bool valid = false;
  {
    std::lock_guard lock(parser_mutex_);
    valid = parser_.is_json(body);
  }
  if (!valid) {
    // Someone published non-JSON on our subjects: clients must never see it.
    log_.warn("NATS: dropped a message on {} whose body is not one JSON value", natsMsg_GetSubject(message));
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  switch (interest.kind) {
    case Kind::topic: {
      if (!interest.pattern) {
        hub_.dispatch(make_publication(Publication::Target::topic, interest.key,
                                       make_topic_data_frame(interest.key, body)));
        break;
      }
      // A pattern's subscription: the topic is the subject's tail. A NATS client may
      // publish subjects no topic can be ("natsync.t.é"): clients never see those.
      std::string_view subject = natsMsg_GetSubject(message);
      const auto tail = subject.substr(std::min(subject.size(), settings_.subject_prefix.size() + 3));
      if (!is_valid_topic(tail)) break;
      hub_.dispatch(
          make_publication(Publication::Target::topic, std::string(tail), make_topic_data_frame(tail, body)));
      break;
    }
    case Kind::user:
      hub_.dispatch(make_publication(Publication::Target::user, interest.key, make_direct_data_frame(body)));
      break;
    default:
      hub_.dispatch(make_publication(Publication::Target::all, {}, make_direct_data_frame(body)));
      break;
  }
}

void NatsBroker::record_heartbeat(std::string_view body) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
  if (ec || !value.is_object()) return;
  const auto* node = value.as_object().if_contains("node");
  const auto* connections = value.as_object().if_contains("connections");
  if (!node || !node->is_string() || !connections || !connections->is_int64()) return;
  bool new_peer = false;
  {
    std::lock_guard lock(peers_mutex_);
    auto [it, inserted] = peers_.try_emplace(std::string(node->as_string()));
    new_peer = inserted;
    it->second.connections = static_cast<std::size_t>(std::max<std::int64_t>(0, connections->as_int64()));
    it->second.seen = std::chrono::steady_clock::now();
  }
  // A node that just started learns of this one at once, not a heartbeat later (its
  // topic listings and presence ask the nodes it knows).
  if (new_peer && !stopping_) boost::asio::post(io_context_, [this] { publish_heartbeat(); });
}

void NatsBroker::on_complete(void* closure) {
  auto* interest = static_cast<Interest*>(closure);
  NatsBroker* owner = interest->owner;
  natsSubscription* drained = interest->draining ? interest->subscription : nullptr;
  delete interest;
  std::lock_guard lock(owner->live_mutex_);
  if (drained != nullptr) owner->drained_.push_back(drained);
  --owner->live_interests_;
  owner->live_changed_.notify_all();
}

void NatsBroker::on_connected(natsConnection* connection, void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  self->connected_ = true;
  self->log_.info("NATS connected to {} (node {})", connected_url(connection), self->settings_.node_id);
}

void NatsBroker::on_disconnected(natsConnection* /*connection*/, void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  if (self->stopping_) return;
  self->connected_ = false;
  self->log_.warn(
      "NATS disconnected: local clients keep being served; publishes are buffered (up to {} "
      "bytes) until it reconnects",
      self->settings_.reconnect_buffer_bytes);
}

void NatsBroker::on_reconnected(natsConnection* connection, void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  self->connected_ = true;
  self->log_.info("NATS reconnected to {}: subscriptions restored ({})", connected_url(connection),
                  self->subscription_count_.load());
}

void NatsBroker::on_closed(natsConnection* /*connection*/, void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  self->connected_ = false;
  if (!self->stopping_) self->log_.error("NATS connection closed");
  std::lock_guard lock(self->live_mutex_);
  self->connection_closed_ = true;
  self->live_changed_.notify_all();
}

void NatsBroker::on_control_connected(natsConnection* /*connection*/, void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  self->control_connected_ = true;
  // Connected late, or again: what the other nodes know of this one may be stale.
  if (self->joined_handler_ && !self->stopping_) boost::asio::post(self->io_context_, self->joined_handler_);
}

void NatsBroker::on_control_closed(natsConnection* /*connection*/, void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  self->control_connected_ = false;
  std::lock_guard lock(self->live_mutex_);
  self->control_closed_ = true;
  self->live_changed_.notify_all();
}

void NatsBroker::on_error(natsConnection* /*connection*/, natsSubscription* subscription, natsStatus status,
                          void* closure) {
  auto* self = static_cast<NatsBroker*>(closure);
  const char* subject = subscription ? natsSubscription_GetSubject(subscription) : nullptr;
  self->log_.error("NATS error{}{}: {}", subject ? " on " : "", subject ? subject : "",
                   natsStatus_GetText(status));
}

BrokerStatus NatsBroker::status() const {
  BrokerStatus status;
  status.name = "nats";
  status.connected = connected_;
  status.node_id = settings_.node_id;
  status.subscriptions = subscription_count_;
  status.received = received_.load(std::memory_order_relaxed);
  status.publish_errors = publish_failures_.load(std::memory_order_relaxed);
  status.cluster_connections = registry_.connections();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(peers_mutex_);
  for (const auto& [node, peer] : peers_) {
    const bool alive = now - peer.seen <= 3 * settings_.heartbeat;
    status.peers.push_back(
        PeerNode{node, peer.connections,
                 std::chrono::duration_cast<std::chrono::milliseconds>(now - peer.seen).count(), alive});
    if (!alive) continue;
    ++status.nodes;
    status.cluster_connections += peer.connections;
  }
  std::sort(status.peers.begin(), status.peers.end(),
            [](const PeerNode& a, const PeerNode& b) { return a.node_id < b.node_id; });
  return status;
}

}  // namespace natsync
