#include "api/rest_api.hpp"

#include <gtest/gtest.h>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>

using namespace natsync;
namespace http = boost::beast::http;

namespace {

struct RecordingBroker final : Broker {
  bool publish(PublicationPtr publication) override {
    published.push_back(std::move(publication));
    return accepting;
  }
  void interest_gained(Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  void interest_lost(Channel, const std::string&) override {}
  void when_ready(Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  BrokerStatus status() const override { return {"nats", accepting, "node-1", 2, 5, 3, 0, 0, {}}; }
  // No other node, and nothing here uses node messages.
  void on_node_message(const std::string&, NodeMessageFn) override {}
  void send_to_nodes(const std::string&, std::string_view, std::function<void()> sent) override {
    if (sent) sent();
  }
  std::vector<PublicationPtr> published;
  bool accepting = true;
};

struct Fixture {
  explicit Fixture(std::string api_key = {})
      : auth(make_config(std::move(api_key))), api(node, auth, origins) {}

  static Config make_config(std::string api_key) {
    Config config;
    config.api_key = std::move(api_key);
    return config;
  }

  HttpResponse call(http::verb method, const std::string& target, std::string body = {},
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    HttpRequest request{method, target, 11};
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    request.prepare_payload();
    std::optional<HttpResponse> response;
    api.handle(request, parser, [&](HttpResponse r) { response = std::move(r); });
    EXPECT_TRUE(response.has_value()) << "answered later: only the JetStream history does that";
    return response ? std::move(*response) : HttpResponse{};
  }

  RecordingBroker broker;
  ConnectionRegistry registry;
  Node node{broker, registry};
  Authenticator auth;
  OriginPolicy origins{{"https://app.example"}};
  RestApi api;
  MessageParser parser;
};

}  // namespace

TEST(RestApi, PublishToTopicAsInTheSpec) {
  Fixture f;
  auto response = f.call(http::verb::post, "/api/sync/publish",
                         R"({"topic": "updates", "data": {"message": "Hello World"}})");
  EXPECT_EQ(response.result(), http::status::ok);
  ASSERT_EQ(f.broker.published.size(), 1U);
  const auto& publication = *f.broker.published[0];
  EXPECT_EQ(publication.target, Publication::Target::topic);
  EXPECT_EQ(publication.key, "updates");
  EXPECT_EQ(publication.frame->payload(),
            R"({"type":"data","topic":"updates","data":{"message":"Hello World"}})");
}

TEST(RestApi, PublishToUserAndBroadcast) {
  Fixture f;
  EXPECT_EQ(f.call(http::verb::post, "/api/sync/publish", R"({"user_id":"user123","data":{"x":1}})").result(),
            http::status::ok);
  EXPECT_EQ(
      f.call(http::verb::post, "/api/sync/broadcast", R"({"data":{"announcement":"Server maintenance"}})")
          .result(),
      http::status::ok);
  ASSERT_EQ(f.broker.published.size(), 2U);
  EXPECT_EQ(f.broker.published[0]->target, Publication::Target::user);
  EXPECT_EQ(f.broker.published[1]->frame->payload(),
            R"({"type":"data","data":{"announcement":"Server maintenance"}})");
}

TEST(RestApi, StatusHasTheSpecFields) {
  Fixture f;
  f.registry.add("a");
  f.registry.add("a");
  auto response = f.call(http::verb::get, "/api/sync/status");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  auto body = boost::json::parse(response.body());
  EXPECT_EQ(body.at("status"), "running");
  EXPECT_EQ(body.at("clients"), 1);
  EXPECT_EQ(body.at("connections"), 2);
  EXPECT_GT(body.at("timestamp").as_int64(), 1600000000);
  EXPECT_EQ(body.at("node"), "node-1");
  EXPECT_EQ(body.at("broker"), "nats");
  EXPECT_EQ(body.at("broker_connected"), true);
  EXPECT_EQ(body.at("cluster").at("nodes"), 2);
  EXPECT_EQ(body.at("cluster").at("connections"), 5);
}

TEST(RestApi, PublishThatCannotReachOtherNodesIs503) {
  Fixture f;
  f.broker.accepting = false;
  auto response = f.call(http::verb::post, "/api/sync/publish", R"({"topic":"t","data":1})");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(boost::json::parse(response.body()).at("code"), "broker_unavailable");
  EXPECT_EQ(f.call(http::verb::post, "/api/sync/broadcast", R"({"data":1})").result(),
            http::status::service_unavailable);
  EXPECT_EQ(f.broker.published.size(), 2U);  // both still went to local delivery
  EXPECT_EQ(boost::json::parse(f.call(http::verb::get, "/api/sync/status").body()).at("broker_connected"),
            false);
}

TEST(RestApi, StatusCodesForBadRequests) {
  Fixture f;
  EXPECT_EQ(f.call(http::verb::get, "/nope").result(), http::status::not_found);
  const auto plain_get = f.call(http::verb::get, "/ws/sync");
  EXPECT_EQ(plain_get.result(), http::status::upgrade_required);
  EXPECT_EQ(plain_get[http::field::upgrade], "websocket");
  EXPECT_EQ(f.call(http::verb::get, "/api/sync/publish").result(), http::status::method_not_allowed);
  EXPECT_EQ(f.call(http::verb::get, "/api/sync/publish")[http::field::allow], "POST");
  EXPECT_EQ(f.call(http::verb::delete_, "/api/sync/status").result(), http::status::method_not_allowed);
  for (const char* body : {"", "{", "nope", "[]", R"({"topic":"a"})", R"({"topic":"a b","data":1})",
                           R"({"data":1})", R"({"topic":"a","user_id":"u","data":1})"}) {
    auto response = f.call(http::verb::post, "/api/sync/publish", body);
    EXPECT_EQ(response.result(), http::status::bad_request) << body;
    auto json = boost::json::parse(response.body());
    EXPECT_TRUE(json.as_object().contains("error")) << body;
    EXPECT_TRUE(json.as_object().contains("code")) << body;
  }
  EXPECT_TRUE(f.broker.published.empty());
  EXPECT_EQ(f.call(http::verb::get, "/healthz").result(), http::status::ok);
}

TEST(RestApi, ApiKeyGuardsPublishing) {
  Fixture f("s3cret");
  const std::string body = R"({"topic":"t","data":1})";
  EXPECT_EQ(f.call(http::verb::post, "/api/sync/publish", body).result(), http::status::unauthorized);
  EXPECT_EQ(f.call(http::verb::post, "/api/sync/publish", body, {{"Authorization", "Bearer wrong"}}).result(),
            http::status::forbidden);
  EXPECT_EQ(
      f.call(http::verb::post, "/api/sync/publish", body, {{"Authorization", "Bearer s3cret"}}).result(),
      http::status::ok);
  EXPECT_EQ(
      f.call(http::verb::post, "/api/sync/broadcast", R"({"data":1})", {{"X-API-Key", "s3cret"}}).result(),
      http::status::ok);
  EXPECT_EQ(f.broker.published.size(), 2U);
  // Status stays readable without the key (load balancers, dashboards).
  EXPECT_EQ(f.call(http::verb::get, "/api/sync/status").result(), http::status::ok);
}

TEST(RestApi, CorsForAllowedOrigins) {
  Fixture f;
  auto allowed = f.call(http::verb::get, "/api/sync/status", {}, {{"Origin", "https://app.example"}});
  EXPECT_EQ(allowed[http::field::access_control_allow_origin], "https://app.example");
  auto other = f.call(http::verb::get, "/api/sync/status", {}, {{"Origin", "https://evil.example"}});
  EXPECT_TRUE(other[http::field::access_control_allow_origin].empty());
  auto preflight = f.call(http::verb::options, "/api/sync/publish", {}, {{"Origin", "https://app.example"}});
  EXPECT_EQ(preflight.result(), http::status::no_content);
}

TEST(Node, LibraryApiValidatesInput) {
  Fixture f;
  EXPECT_EQ(f.node.publish_json("user.notifications", R"({"type":"alert"})"), PublishStatus::ok);
  EXPECT_EQ(f.node.publish_json("bad topic", "1"), PublishStatus::invalid_topic);
  EXPECT_EQ(f.node.publish_json("t", "{not json"), PublishStatus::invalid_data);
  EXPECT_EQ(f.node.publish_to_user_json("", "1"), PublishStatus::invalid_user);
  EXPECT_EQ(f.node.publish_to_user("user123", boost::json::value{{"data", "personal"}}), PublishStatus::ok);
  EXPECT_EQ(f.node.broadcast_json("[1, 2]"), PublishStatus::ok);
  ASSERT_EQ(f.broker.published.size(), 3U);
  EXPECT_EQ(f.broker.published[0]->frame->payload(),
            R"({"type":"data","topic":"user.notifications","data":{"type":"alert"}})");
  EXPECT_EQ(f.broker.published[2]->frame->payload(), R"({"type":"data","data":[1,2]})");
}
