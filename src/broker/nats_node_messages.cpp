// NatsBroker's messages between nodes (broker.hpp: on_node_message, ask_nodes): plain
// subscriptions on <prefix>.n.<channel>, which every node holds from start to stop, on
// the node's control connection (with echo: a node gets its own messages, in NATS's
// order); an ask is a publish with a reply inbox, answered by each other node alive.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <utility>

#include "broker/nats_broker.hpp"

namespace natsync {

struct NatsBroker::Ask {
  NatsBroker* owner = nullptr;
  std::mutex mutex;  // answers arrive on nats.c's thread, the end comes on the broker's
  std::vector<std::string> answers;
  std::size_t expected = 0;
  AnswersFn done;
  bool finished = false;
  natsSubscription* inbox = nullptr;
  std::string reply;  // the inbox's subject
  std::unique_ptr<boost::asio::steady_timer> timer;
};

namespace {
constexpr int kControlFlushTimeoutMs = 2000;
}  // namespace

void NatsBroker::on_node_message(const std::string& channel, NodeMessageFn handler) {
  node_handlers_[channel] = std::move(handler);
}

void NatsBroker::on_node_request(const std::string& channel, NodeRequestFn handler) {
  request_handlers_[channel] = std::move(handler);
}

void NatsBroker::send_to_nodes(const std::string& channel, std::string_view body,
                               std::function<void()> sent) {
  if (stopping_) {
    if (sent) sent();
    return;
  }
  const auto subject = subject_for(Kind::node_message, channel);
  const natsStatus status =
      natsConnection_Publish(control_, subject.c_str(), body.data(), static_cast<int>(body.size()));
  if (status != NATS_OK) {
    log_.warn("NATS: a message to the nodes on {} failed: {}", subject, natsStatus_GetText(status));
  }
  if (!sent) return;
  // Once NATS has it (a PING/PONG after it), whatever the caller sends next is ordered
  // after it at every node; on the broker thread, so no caller waits on the network.
  boost::asio::post(io_context_, [this, sent = std::move(sent)] {
    if (control_connected_) natsConnection_FlushTimeout(control_, kControlFlushTimeoutMs);
    sent();
  });
}

void NatsBroker::deliver_node_message(const Interest& interest, natsMsg* message) {
  const std::string_view body(natsMsg_GetData(message),
                              static_cast<std::size_t>(natsMsg_GetDataLength(message)));
  const char* reply = natsMsg_GetReply(message);
  if (reply != nullptr && reply[0] != '\0') {
    auto it = request_handlers_.find(interest.key);
    if (it == request_handlers_.end()) return;
    {
      std::lock_guard lock(live_mutex_);  // this node's own ask: the others answer it
      if (std::find(own_inboxes_.begin(), own_inboxes_.end(), reply) != own_inboxes_.end()) return;
    }
    it->second(body, [this, reply = std::string(reply)](const std::string& answer) {
      if (!stopping_)
        natsConnection_Publish(control_, reply.c_str(), answer.data(), static_cast<int>(answer.size()));
    });
    return;
  }
  if (auto it = node_handlers_.find(interest.key); it != node_handlers_.end()) it->second(body);
}

std::vector<std::string> NatsBroker::live_nodes(std::chrono::milliseconds within) const {
  std::vector<std::string> out;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(peers_mutex_);
  for (const auto& [node, peer] : peers_) {
    if (node != settings_.node_id && now - peer.seen <= within) out.push_back(node);
  }
  return out;
}

void NatsBroker::ask_nodes(const std::string& channel, std::string_view body,
                           std::chrono::milliseconds timeout, AnswersFn done) {
  const auto expected = live_nodes(3 * settings_.heartbeat).size();
  if (expected == 0 || stopping_ || !control_connected_) {
    done({});
    return;
  }
  boost::asio::post(io_context_, [this, channel, body = std::string(body), timeout, expected,
                                  done = std::move(done)]() mutable {
    auto ask = std::make_shared<Ask>();
    ask->owner = this;
    ask->expected = expected;
    ask->done = std::move(done);
    ask->timer = std::make_unique<boost::asio::steady_timer>(io_context_, timeout);
    // nats.c's closure: a reference to the ask, dropped by on_ask_complete.
    auto* closure = new std::shared_ptr<Ask>(ask);
    natsInbox* inbox = nullptr;
    natsStatus status = natsInbox_Create(&inbox);
    if (status == NATS_OK)
      status = natsConnection_Subscribe(&ask->inbox, control_, inbox, &NatsBroker::on_answer, closure);
    if (status != NATS_OK) {
      natsInbox_Destroy(inbox);
      delete closure;
      ask->done({});
      return;
    }
    ask->reply = inbox;
    {
      std::lock_guard lock(live_mutex_);
      ++live_interests_;
      own_inboxes_.push_back(ask->reply);
    }
    natsSubscription_SetOnCompleteCB(ask->inbox, &NatsBroker::on_ask_complete, closure);
    const auto subject = subject_for(Kind::node_message, channel);
    natsConnection_PublishRequest(control_, subject.c_str(), inbox, body.data(),
                                  static_cast<int>(body.size()));
    natsInbox_Destroy(inbox);
    ask->timer->async_wait([this, ask](boost::system::error_code ec) {
      if (!ec) finish_ask(*ask);
    });
  });
}

void NatsBroker::on_answer(natsConnection* /*connection*/, natsSubscription* /*subscription*/,
                           natsMsg* message, void* closure) {
  const auto& ask = *static_cast<std::shared_ptr<Ask>*>(closure);
  bool all_in = false;
  {
    std::lock_guard lock(ask->mutex);
    if (!ask->finished) {
      ask->answers.emplace_back(natsMsg_GetData(message),
                                static_cast<std::size_t>(natsMsg_GetDataLength(message)));
      all_in = ask->answers.size() >= ask->expected;
    }
  }
  natsMsg_Destroy(message);
  if (all_in) boost::asio::post(ask->owner->io_context_, [ask] { ask->owner->finish_ask(*ask); });
}

void NatsBroker::finish_ask(Ask& ask) {
  std::vector<std::string> answers;
  {
    std::lock_guard lock(ask.mutex);
    if (ask.finished) return;
    ask.finished = true;
    answers = std::move(ask.answers);
  }
  ask.timer->cancel();
  auto done = std::move(ask.done);
  {
    std::lock_guard lock(live_mutex_);
    std::erase(own_inboxes_, ask.reply);
  }
  natsSubscription* inbox = std::exchange(ask.inbox, nullptr);
  natsSubscription_Unsubscribe(inbox);
  natsSubscription_Destroy(inbox);
  done(std::move(answers));
}

void NatsBroker::on_ask_complete(void* closure) {
  auto* ask = static_cast<std::shared_ptr<Ask>*>(closure);
  NatsBroker* owner = (*ask)->owner;
  delete ask;
  std::lock_guard lock(owner->live_mutex_);
  --owner->live_interests_;
  owner->live_changed_.notify_all();
}

}  // namespace natsync
