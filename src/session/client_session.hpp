#pragma once
// The client protocol of one /ws/sync connection (docs/protocol.md), over a Transport
// that knows the frames and the socket: who the client is (auth, the auth deadline,
// token expiry), what it is subscribed to (the worker's LocalHub, the broker's interest,
// the recovery of durable topics), its `sync` publishes and its inbound rate. Lives on
// one worker thread; every member runs there.
//
// Life: on_open() (the upgrade is answered) -> `connect` once the broker delivers to
// the user from every node, then reading starts -> messages -> on_closed(), after which
// the session is in no index and its pending callbacks find it closed and do nothing.
//
// Outbound frames are the transport's: the session only decides what to queue, and
// what happens when the queue's bound is reached (a `slow_consumer` error and close 4008).
#include <boost/asio/dispatch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "auth/authenticator.hpp"
#include "history/history.hpp"
#include "hub/channel.hpp"
#include "hub/subscriber.hpp"
#include "limits/connection_limiter.hpp"
#include "limits/token_bucket.hpp"
#include "protocol/client_message.hpp"
#include "session/recovery_seam.hpp"
#include "session/transport.hpp"
#include "session/worker_services.hpp"

namespace natsync {

class ClientSession final : public Subscriber, public ConnectionHandler {
 public:
  // `identity` is who the upgrade request proved to be; nullopt in JWT mode when no
  // token came with it (the client must then send "auth" within AUTH_TIMEOUT).
  ClientSession(Transport& transport, WorkerServices& services, std::optional<Identity> identity,
                ConnectionLimiter::Ticket ticket);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // ConnectionHandler
  std::uint64_t connection_id() const override { return id(); }
  void on_open() override;
  void on_message(std::string_view message, bool text, Clock::time_point now) override;
  void on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall) override;
  void on_overflow() override;
  void on_shutdown() override;
  void on_closed() override;

  // Subscriber (the worker's LocalHub)
  void deliver(const Frame& frame) override;
  void deliver_offset(const Publication& publication) override;
  void on_server_command(const ServerCommand& command) override;

  const std::string& user_id() const { return user_id_; }
  bool authenticated() const { return authenticated_; }

 private:
  using Then = std::function<void(ClientSession&)>;

  const ServerContext& context() const { return services_.server; }
  void handle(ClientMessage& message);
  // WS_MESSAGE_RATE: false (and the client told, or cut off) when the message with
  // `request_id` is over it.
  bool within_rate(std::string_view request_id, Clock::time_point now);
  void handle_subscribe(const ClientMessage& message);
  // Subscribes to a topic or pattern, checked already (or asked by the server API:
  // `server`, whose acks say "server":true).
  void subscribe_to(const std::string& topic, const std::string& request_id,
                    const std::optional<StreamPosition>& since, bool server);
  // The subscription is in place: ack it and, on a durable topic, ask the history where
  // its stream stands and what the client missed since `since` (finish_recovery).
  void acknowledge_subscribe(const std::string& topic, const std::string& request_id,
                             const std::optional<StreamPosition>& since, bool server);
  // The history answered: the ack, the replay, then the live messages held meanwhile;
  // or, if it could not answer, a broker_unavailable error and no subscription.
  void finish_recovery(const std::string& topic, const std::string& request_id, bool asked_since, bool server,
                       Recovery recovery);
  // On a document topic: the snapshot (or the changes after `since`), then its changes.
  void recover_document(const std::string& topic, const std::string& request_id,
                        const std::optional<StreamPosition>& since, bool server);
  void finish_document_recovery(const std::string& topic, const std::string& request_id, bool asked_since,
                                bool server, DocumentRecovery recovery);
  void handle_presence(const ClientMessage& message);
  // This connection as a member of a PRESENCE_TOPICS topic it subscribed to (or left).
  void join_presence(const std::string& topic);
  void leave_presence(const std::string& topic);
  // The connect message's client_id: unique in the cluster (the node's id in front).
  std::string client_id() const;
  // The frames a subscribe's answer delivers at once (a replay, a snapshot), then the
  // live ones held meanwhile, which may together go over the queue's bound.
  void deliver_catch_up(const std::string& topic, const std::vector<Frame>& frames,
                        const StreamPosition& position);
  void handle_patch(ClientMessage& message);
  void handle_sync(ClientMessage& message);
  // A client "sync" into a durable topic: acked (or refused) once it is stored.
  void sync_durable(ClientMessage& message);
  // Ends this connection's subscription to `topic` (its held messages too).
  void leave_topic(const std::string& topic);
  // After a re-authentication: ends the subscriptions the new token no longer allows,
  // telling the client with an unsolicited "unsubscribe" for each.
  void drop_forbidden_subscriptions();
  void handle_auth(const ClientMessage& message);
  // Joins the worker's hub under the user (once authenticated) and runs `then` when the
  // broker delivers to that user from every node.
  void join_hub(Then then);
  // Tells the broker about `key` (gained when it just appeared on this worker) and runs
  // `then` on this worker once the broker delivers it from every node.
  void after_broker(Channel channel, const std::string& key, bool key_appeared, Then then);
  // A callback for another thread (the broker's, the history's): called with `args`, it
  // runs `fn(session, args...)` on this session's worker if the session is still open
  // then (inline when already on the worker, as standalone answers are).
  template <class Fn>
  auto on_worker(Fn fn) {
    return [alive = transport_.lifetime(), self = this, executor = services_.io_context.get_executor(),
            fn = std::move(fn)](auto&&... args) {
      boost::asio::dispatch(executor,
                            [alive, self, fn, ... args = std::decay_t<decltype(args)>(args)]() mutable {
                              if (auto owner = alive.lock(); owner && self->open_)
                                fn(*self, std::move(args)...);
                            });
    };
  }
  void reply(std::string_view text);
  void count_document_outcome(const DocumentOutcome& outcome);
  // An error message, counted by code (GET /metrics); the arguments are encode_error's.
  void reply_error(ErrorCode code, std::string_view message, std::string_view request_id) {
    services_.metrics.count_error(code);
    reply(encode_error(code, message, request_id));
  }
  // Over the queue's bound: tells the client `slow_consumer` and closes.
  void cut_slow_consumer();

  Transport& transport_;
  WorkerServices& services_;
  std::string user_id_;
  SharedPermissions permissions_;  // what this connection may subscribe to and sync into
  RecoverySeam seam_;
  ConnectionLimiter::Ticket ticket_;  // this connection's places under the connection limits
  TokenBucket inbound_;               // WS_MESSAGE_RATE
  std::uint32_t refused_in_row_ = 0;  // messages refused by inbound_ since the last accepted
  std::optional<std::chrono::system_clock::time_point> token_expires_;
  Clock::time_point auth_deadline_{};  // while not authenticated
  bool authenticated_ = false;
  bool open_ = false;  // between on_open() and on_closed(): in the registry (and the hub)
};

}  // namespace natsync
