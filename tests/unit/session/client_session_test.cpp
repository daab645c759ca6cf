// The client protocol (ClientSession) without a socket: a fake Transport records what
// the session queues and how it closes, a real LocalHub/LocalBroker/MemoryHistory/Node
// stand behind it, and the worker's io_context is run by hand.
#include "session/client_session.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/asio/io_context.hpp>
#include <jwt/jwt.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/local_broker.hpp"
#include "documents/local_documents.hpp"
#include "history/memory_history.hpp"
#include "hub/hub.hpp"

using namespace natsync;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSecret = "session-test-secret-0123";

class FakeTransport final : public Transport {
 public:
  bool send(const Frame& frame) override {
    if (closed) return true;
    if (!has_room(frame->size())) return false;
    sent.emplace_back(frame->payload());
    queued += frame->size();
    return true;
  }
  bool has_room(std::size_t bytes) const override { return queued + bytes <= bound + allowance; }
  void allow_over_bound(std::size_t bytes) override { allowance += bytes; }
  std::size_t queued_bytes() const override { return queued; }
  void cut(const Frame& notice, unsigned short code) override {
    if (closed) return;
    if (notice) sent.emplace_back(notice->payload());
    closed = code;
  }
  void close(unsigned short code) override {
    if (!closed) closed = code;
  }
  bool closing() const override { return closed.has_value(); }
  void start_reading() override { reading = true; }
  std::weak_ptr<void> lifetime() override { return owner; }

  // The peer read everything.
  void drain() { queued = allowance = 0; }
  // Every frame sent since the last call.
  std::vector<std::string> take() { return std::exchange(sent, {}); }

  std::vector<std::string> sent;
  std::size_t bound = std::size_t{1} << 20;
  std::size_t queued = 0;
  std::size_t allowance = 0;
  bool reading = false;
  std::optional<unsigned short> closed;
  std::shared_ptr<int> owner = std::make_shared<int>(0);
};

HistorySettings durable(const char* pattern) {
  HistorySettings settings;
  settings.durable_topics.push_back(*TopicPattern::parse(pattern));
  settings.size = 100;
  settings.ttl = 1min;
  return settings;
}

// One worker's world: the node-wide services and the worker's own parts.
struct World {
  World() = default;
  explicit World(const Config& base) : config(base) {}
  Config config;
  std::shared_ptr<spdlog::logger> log =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  boost::asio::io_context io;
  LocalHub local;
  Hub hub = [this] {
    Hub h;
    h.add_shard({io.get_executor(), &local});
    return h;
  }();
  LocalBroker broker{hub, "node-1"};
  ConnectionRegistry registry;
  MemoryHistory history{durable("d.>"), broker};
  LocalDocuments documents{DocumentSettings{{*TopicPattern::parse("b.>")}, 1024, 10},
                           std::make_unique<MemoryDocumentStore>("e1"), broker};
  Node node{broker, registry, &history, &documents};
  Authenticator auth{config};
  OriginPolicy origins{{}};
  ConnectionLimiter limiter{ConnectionLimits{}};
  ServerContext context{config, node, broker, auth, origins, registry, limiter, *log, nullptr};
  MessageParser parser{config.max_topic_length};
  WorkerMetrics metrics;
  WorkerServices services{context, local, parser, io, metrics};

  std::optional<Identity> identity(const std::string& user) const {
    auto result = auth.identify_upgrade(UpgradeCredentials{{}, {}, user}, std::chrono::system_clock::now());
    if (auto* known = std::get_if<Identity>(&result)) return *known;
    return std::nullopt;
  }
  void run() {
    io.restart();
    io.poll();
  }
  // Runs the worker until `done` holds (answers from the documents' committer thread).
  template <class Done>
  bool run_until(Done done) {
    for (int i = 0; i < 2000 && !done(); ++i) {
      std::this_thread::sleep_for(1ms);
      run();
    }
    return done();
  }
};

struct Connection {
  Connection(World& in, std::optional<Identity> identity)
      : world(in), session(transport, in.services, std::move(identity), ConnectionLimiter::Ticket{}) {}
  World& world;
  FakeTransport transport;
  ClientSession session;

  // What the session does, then what it left for its worker (the broker's answers).
  void open() {
    session.on_open();
    world.run();
  }
  void message(std::string_view text) {
    session.on_message(text, true, std::chrono::steady_clock::now());
    world.run();
  }
};

bool has(const std::vector<std::string>& frames, std::string_view part) {
  for (const auto& frame : frames) {
    if (frame.find(part) != std::string::npos) return true;
  }
  return false;
}

std::string token(const std::string& user, std::chrono::seconds valid_for) {
  jwt::jwt_object object{jwt::params::algorithm("HS256"), jwt::params::secret(kSecret)};
  object.add_claim("sub", user);
  object.add_claim("exp", std::chrono::system_clock::now() + valid_for);
  return object.signature();
}

Config jwt_mode() {
  Config config;
  config.jwt_secret = kSecret;
  config.auth_timeout = 50ms;
  return config;
}

}  // namespace

TEST(ClientSession, ConnectIsFirstAndReadingStartsOnlyAfterIt) {
  World world;
  Connection c(world, world.identity("alice"));
  EXPECT_FALSE(c.transport.reading);
  c.session.on_open();
  EXPECT_FALSE(c.transport.reading);  // the broker has not answered yet
  EXPECT_TRUE(c.transport.sent.empty());
  // Nothing else holds the connection while it waits (no read, no write pending): the
  // wait itself must, or the connection would be gone before its connect.
  c.transport.owner.reset();
  c.world.run();
  const auto frames = c.transport.take();
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(has(frames, R"("type":"connect")")) << frames[0];
  EXPECT_TRUE(has(frames, R"("user_id":"alice")"));
  EXPECT_TRUE(c.transport.reading);
  EXPECT_EQ(world.registry.connections(), 1U);
  c.session.on_closed();
  EXPECT_EQ(world.registry.connections(), 0U);
}

TEST(ClientSession, SubscribeReceivesUnsubscribeStops) {
  World world;
  Connection c(world, world.identity("alice"));
  c.open();
  c.transport.take();
  c.message(R"({"type":"subscribe","topic":"chat.room","id":"1"})");
  EXPECT_TRUE(has(c.transport.take(), R"({"type":"subscribe","topic":"chat.room","id":"1")"));
  ASSERT_EQ(world.node.publish_json("chat.room", R"({"n":1})"), PublishStatus::ok);
  world.run();
  EXPECT_TRUE(has(c.transport.take(), R"("data":{"n":1})"));
  c.message(R"({"type":"unsubscribe","topic":"chat.room","id":"2"})");
  EXPECT_TRUE(has(c.transport.take(), R"("type":"unsubscribe")"));
  world.node.publish_json("chat.room", R"({"n":2})");
  world.run();
  EXPECT_TRUE(c.transport.take().empty());
}

TEST(ClientSession, SyncIsAckedOnRequestAndNotEchoedToItsSender) {
  World world;
  Connection sender(world, world.identity("alice"));
  Connection other(world, world.identity("bob"));
  for (auto* c : {&sender, &other}) {
    c->open();
    c->message(R"({"type":"subscribe","topic":"board"})");
    c->transport.take();
  }
  sender.message(R"({"type":"sync","topic":"board","data":{"x":1},"id":"s1"})");
  sender.message(R"({"type":"sync","topic":"board","data":{"x":2}})");  // no id: no ack
  world.run();
  const auto acks = sender.transport.take();
  ASSERT_EQ(acks.size(), 1U);
  EXPECT_TRUE(has(acks, R"("type":"sync")") && has(acks, R"("id":"s1")"));
  const auto received = other.transport.take();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_TRUE(has(received, R"({"x":1})") && has(received, R"({"x":2})"));
}

TEST(ClientSession, PingIsAnsweredWithPongEvenBeforeAuth) {
  World world(jwt_mode());
  Connection c(world, std::nullopt);
  c.open();
  c.transport.take();
  c.message(R"({"type":"ping","id":"h1"})");
  c.message(R"({"type":"ping"})");
  const auto pongs = c.transport.take();
  ASSERT_EQ(pongs.size(), 2U);
  EXPECT_EQ(pongs[0], R"({"type":"pong","id":"h1"})");
  EXPECT_EQ(pongs[1], R"({"type":"pong"})");
}

TEST(ClientSession, ADurableSyncWithAnIdempotencyKeyIsStoredOnce) {
  World world;
  Connection sender(world, world.identity("alice"));
  Connection other(world, world.identity("bob"));
  for (auto* c : {&sender, &other}) {
    c->open();
    c->message(R"({"type":"subscribe","topic":"d.chat"})");
    c->transport.take();
  }
  sender.message(R"({"type":"sync","topic":"d.chat","data":"hi","idempotency_key":"k1","id":1})");
  sender.message(R"({"type":"sync","topic":"d.chat","data":"hi","idempotency_key":"k1","id":2})");
  world.run();
  const auto acks = sender.transport.take();
  ASSERT_EQ(acks.size(), 2U);
  EXPECT_EQ(acks[0].rfind(R"({"type":"sync","topic":"d.chat","offset":1,"epoch":")", 0), 0U) << acks[0];
  EXPECT_TRUE(acks[0].ends_with(R"(","id":1})")) << acks[0];
  EXPECT_EQ(acks[1].rfind(R"({"type":"sync","topic":"d.chat","offset":1,"epoch":")", 0), 0U) << acks[1];
  EXPECT_TRUE(acks[1].ends_with(R"(","duplicate":true,"id":2})")) << acks[1];
  EXPECT_EQ(other.transport.take().size(), 1U);
  // On a topic that keeps no history the key is accepted and not remembered.
  sender.message(R"({"type":"sync","topic":"plain","data":"hi","idempotency_key":"k1","id":3})");
  sender.message(R"({"type":"sync","topic":"plain","data":"hi","idempotency_key":"k1","id":4})");
  EXPECT_EQ(sender.transport.take(), (std::vector<std::string>{R"({"type":"sync","topic":"plain","id":3})",
                                                               R"({"type":"sync","topic":"plain","id":4})"}));
}

TEST(ClientSession, BadInputGetsAnErrorAndBinaryClosesWith1003) {
  World world;
  Connection c(world, world.identity("alice"));
  c.open();
  c.transport.take();
  c.message("{not json");
  c.message(R"({"type":"subscribe","topic":"a..b","id":"7"})");
  const auto errors = c.transport.take();
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_TRUE(has(errors, R"("type":"error")"));
  EXPECT_FALSE(c.transport.closed);
  c.session.on_message("\x01\x02", false, std::chrono::steady_clock::now());
  EXPECT_TRUE(has(c.transport.take(), "unsupported_data"));
  EXPECT_EQ(c.transport.closed, close_code::unsupported_data);
}

TEST(ClientSession, OverTheRateRefusesThenClosesAfterABurstInARow) {
  Config config;
  config.ws_message_rate = 1;
  config.ws_message_burst = 3;
  World world(config);
  Connection c(world, world.identity("alice"));
  c.open();
  c.transport.take();
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) c.session.on_message(R"({"type":"unsubscribe","topic":"t"})", true, now);
  EXPECT_FALSE(has(c.transport.take(), "rate_limited"));  // the burst
  c.session.on_message(R"({"type":"unsubscribe","topic":"t","id":"4"})", true, now);
  EXPECT_TRUE(has(c.transport.take(), "rate_limited"));
  EXPECT_FALSE(c.transport.closed);
  c.session.on_message(R"({"type":"unsubscribe","topic":"t"})", true, now);
  c.session.on_message(R"({"type":"unsubscribe","topic":"t"})", true, now);
  EXPECT_EQ(c.transport.closed, close_code::rate_limited);
}

TEST(ClientSession, ASlowConsumerIsToldAndClosedWith4008) {
  World world;
  Connection c(world, world.identity("alice"));
  c.transport.bound = 300;
  c.open();
  c.message(R"({"type":"subscribe","topic":"feed"})");
  c.transport.take();
  for (int i = 0; i < 20; ++i)
    world.node.publish_json("feed", R"({"payload":"0123456789012345678901234567"})");
  world.run();
  const auto frames = c.transport.take();
  EXPECT_TRUE(has(frames, "slow_consumer"));
  EXPECT_EQ(c.transport.closed, close_code::slow_consumer);
  EXPECT_LT(frames.size(), 20U);
}

TEST(ClientSession, JwtModeWantsAuthFirstAndClosesAtTheAuthDeadline) {
  World world(jwt_mode());
  Connection late(world, std::nullopt);
  late.open();
  EXPECT_TRUE(has(late.transport.take(), R"("type":"connect")"));
  late.message(R"({"type":"subscribe","topic":"t","id":"1"})");
  EXPECT_TRUE(has(late.transport.take(), "not_authenticated"));
  late.session.on_tick(std::chrono::steady_clock::now() + 1s, std::chrono::system_clock::now());
  EXPECT_TRUE(has(late.transport.take(), "AUTH_TIMEOUT"));
  EXPECT_EQ(late.transport.closed, close_code::auth_timeout);

  Connection prompt(world, std::nullopt);
  prompt.open();
  prompt.transport.take();
  prompt.message(R"({"type":"auth","token":"not-a-jwt","id":"a0"})");
  EXPECT_TRUE(has(prompt.transport.take(), "auth_failed"));
  prompt.message(R"({"type":"auth","token":")" + token("carol", 1h) + R"(","id":"a1"})");
  EXPECT_TRUE(has(prompt.transport.take(), R"("user_id":"carol")"));
  EXPECT_TRUE(prompt.session.authenticated());
  prompt.session.on_tick(std::chrono::steady_clock::now() + 1s, std::chrono::system_clock::now());
  EXPECT_FALSE(prompt.transport.closed);
  // A token for someone else never takes the connection over.
  prompt.message(R"({"type":"auth","token":")" + token("mallory", 1h) + R"(","id":"a2"})");
  EXPECT_TRUE(has(prompt.transport.take(), "another user"));
  EXPECT_EQ(prompt.session.user_id(), "carol");
}

TEST(ClientSession, AnExpiredTokenClosesWith4003UnlessRefreshed) {
  World world(jwt_mode());
  Connection c(world, std::nullopt);
  c.open();
  c.message(R"({"type":"auth","token":")" + token("dave", 2s) + R"("})");
  c.transport.take();
  const auto steady = std::chrono::steady_clock::now();
  const auto wall = std::chrono::system_clock::now();
  c.session.on_tick(steady, wall);
  EXPECT_FALSE(c.transport.closed);
  c.message(R"({"type":"auth","token":")" + token("dave", 1h) + R"("})");  // refreshed
  c.session.on_tick(steady, wall + 10s);
  EXPECT_FALSE(c.transport.closed);
  c.session.on_tick(steady, wall + 2h);
  EXPECT_TRUE(has(c.transport.take(), "token_expired"));
  EXPECT_EQ(c.transport.closed, close_code::token_expired);
}

TEST(ClientSession, ADurableSubscribeReplaysWhatWasMissedThenGoesLive) {
  World world;
  for (int n = 1; n <= 3; ++n) world.node.publish_json("d.orders", "{\"n\":" + std::to_string(n) + "}");
  const auto epoch = world.history.messages() == 3 ? std::string() : std::string("?");
  ASSERT_TRUE(epoch.empty());
  Connection c(world, world.identity("alice"));
  c.open();
  c.message(R"({"type":"subscribe","topic":"d.orders","id":"1"})");
  world.run();
  auto frames = c.transport.take();
  ASSERT_EQ(frames.size(), 2U);  // connect, then the ack with the stream's position
  EXPECT_TRUE(has(frames, R"("offset":3)")) << frames[1];
  // The ack's epoch, sent back as `since` on a second connection that missed two.
  const auto& ack = frames[1];
  const auto at = ack.find(R"("epoch":")") + 9;
  const auto stream_epoch = ack.substr(at, ack.find('"', at) - at);
  Connection back(world, world.identity("alice"));
  back.open();
  back.message(R"({"type":"subscribe","topic":"d.orders","since":{"offset":1,"epoch":")" + stream_epoch +
               R"("},"id":"2"})");
  world.run();
  frames = back.transport.take();
  ASSERT_EQ(frames.size(), 4U);  // connect, ack (recovered), n=2, n=3
  EXPECT_TRUE(has(frames, R"("recovered":true)"));
  EXPECT_NE(frames[2].find(R"({"n":2})"), std::string::npos);
  EXPECT_NE(frames[3].find(R"({"n":3})"), std::string::npos);
  world.node.publish_json("d.orders", R"({"n":4})");
  world.run();
  frames = back.transport.take();
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_NE(frames[0].find(R"({"n":4})"), std::string::npos);
}

TEST(ClientSession, AReplayMayExceedTheQueueBoundButWhatFollowsMayNot) {
  World world;
  for (int n = 1; n <= 40; ++n)
    world.node.publish_json("d.log", R"({"line":"0123456789012345678901234567"})");
  Connection c(world, world.identity("alice"));
  c.transport.bound = 600;  // far less than the 40 missed messages
  c.open();
  c.message(R"({"type":"subscribe","topic":"d.log","since":{"offset":0,"epoch":""}})");
  world.run();
  auto frames = c.transport.take();
  EXPECT_EQ(frames.size(), 42U);  // connect, ack, 40 replayed
  EXPECT_FALSE(c.transport.closed);
  c.transport.drain();
  world.node.publish_json("d.log", R"({"line":"after"})");
  world.run();
  EXPECT_TRUE(has(c.transport.take(), "after"));
  EXPECT_FALSE(c.transport.closed);
}

TEST(ClientSession, ClosedSessionsLeaveTheHubAndIgnoreLateAnswers) {
  World world;
  Connection c(world, world.identity("alice"));
  c.open();
  c.message(R"({"type":"subscribe","topic":"news"})");
  c.transport.take();
  c.session.on_closed();
  world.node.publish_json("news", R"({"late":true})");
  world.run();
  EXPECT_TRUE(c.transport.take().empty());
  EXPECT_EQ(world.registry.connections(), 0U);
  EXPECT_TRUE(world.local.topics_of(c.session).empty());
}

TEST(ClientSession, DocumentSubscribeGetsAckSnapshotThenPatchesInRevisionOrder) {
  World world;
  Connection reader(world, world.identity("reader"));
  Connection writer(world, world.identity("writer"));
  reader.open();
  writer.open();
  reader.transport.take();
  writer.transport.take();
  reader.message(R"({"type":"subscribe","topic":"b.1","id":1})");
  auto frames = reader.transport.take();
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0], R"({"type":"subscribe","topic":"b.1","revision":0,"epoch":"e1","id":1})");
  EXPECT_EQ(frames[1], R"({"type":"snapshot","topic":"b.1","data":null,"revision":0,"epoch":"e1"})");

  writer.message(R"({"type":"patch","topic":"b.1","id":"a","data":{"x":1}})");
  writer.message(R"({"type":"patch","topic":"b.1","id":"b","ops":[{"op":"add","path":"/y","value":2}]})");
  ASSERT_TRUE(world.run_until([&] { return has(writer.transport.sent, R"("id":"b","revision":2)"); }));
  EXPECT_EQ(writer.transport.take(),
            (std::vector<std::string>{R"({"type":"patch","topic":"b.1","id":"a","revision":1})",
                                      R"({"type":"patch","topic":"b.1","id":"b","revision":2})"}));
  ASSERT_TRUE(world.run_until([&] { return reader.transport.sent.size() == 2; }));
  EXPECT_EQ(
      reader.transport.take(),
      (std::vector<std::string>{
          R"({"type":"patch","topic":"b.1","revision":1,"data":{"x":1}})",
          R"({"type":"patch","topic":"b.1","revision":2,"ops":[{"op":"add","path":"/y","value":2}]})"}));

  // Back with since: the one change it missed, no snapshot.
  reader.message(R"({"type":"unsubscribe","topic":"b.1"})");
  writer.message(R"({"type":"patch","topic":"b.1","id":"c","data":{"z":3},"if_revision":2})");
  ASSERT_TRUE(world.run_until([&] { return has(writer.transport.sent, R"("revision":3)"); }));
  reader.transport.take();
  reader.message(R"({"type":"subscribe","topic":"b.1","id":2,"since":{"revision":2,"epoch":"e1"}})");
  EXPECT_EQ(reader.transport.take(),
            (std::vector<std::string>{
                R"({"type":"subscribe","topic":"b.1","revision":3,"epoch":"e1","recovered":true,"id":2})",
                R"({"type":"patch","topic":"b.1","revision":3,"data":{"z":3}})"}));
}

TEST(ClientSession, DocumentChangesThatDoNotApplyAreAnsweredWithTheirError) {
  World world;
  Connection writer(world, world.identity("writer"));
  writer.open();
  writer.transport.take();
  writer.message(R"({"type":"patch","topic":"b.1","id":1,"data":{"a":1},"if_revision":5})");
  ASSERT_TRUE(world.run_until([&] { return !writer.transport.sent.empty(); }));
  EXPECT_TRUE(has(writer.transport.take(), R"("code":"revision_conflict","revision":0,"id":1)"));
  writer.message(R"({"type":"patch","topic":"b.1","id":2,"ops":[{"op":"remove","path":"/q"}]})");
  ASSERT_TRUE(world.run_until([&] { return !writer.transport.sent.empty(); }));
  const auto failed = writer.transport.take();
  ASSERT_FALSE(failed.empty());
  EXPECT_TRUE(has(failed, R"("code":"patch_failed","index":0,"id":2)")) << failed.at(0);
  writer.message(R"({"type":"sync","topic":"b.1","id":3,"data":1})");
  EXPECT_TRUE(has(writer.transport.take(), R"("code":"invalid_message","id":3)"));
  writer.message(R"({"type":"patch","topic":"plain","id":4,"data":1})");
  EXPECT_TRUE(has(writer.transport.take(), R"("code":"invalid_message","id":4)"));
}
