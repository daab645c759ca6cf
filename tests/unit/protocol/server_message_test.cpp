#include "protocol/server_message.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

using namespace natsync;

namespace {
boost::json::value parse(std::string_view text) { return boost::json::parse(text); }
}  // namespace

TEST(ServerMessage, DataFramesAreValidJson) {
  auto frame = make_topic_data_frame("user.notifications", R"({"a":1})");
  auto value = parse(frame->payload());
  EXPECT_EQ(value.at("type"), "data");
  EXPECT_EQ(value.at("topic"), "user.notifications");
  EXPECT_EQ(value.at("data").at("a"), 1);

  auto direct = parse(make_direct_data_frame("[1,2]")->payload());
  EXPECT_EQ(direct.at("type"), "data");
  EXPECT_FALSE(direct.as_object().contains("topic"));
}

TEST(ServerMessage, FrameDataRecoversTheDataJson) {
  EXPECT_EQ(frame_data(make_topic_data_frame("a.b", R"({"x":"\",\"data\":"})")->payload()),
            R"({"x":"\",\"data\":"})");
  EXPECT_EQ(frame_data(make_topic_data_frame("t", "1")->payload()), "1");
  EXPECT_EQ(frame_data(make_direct_data_frame(R"("s")")->payload()), R"("s")");
  EXPECT_EQ(frame_data(make_direct_data_frame("[]")->payload()), "[]");
}

TEST(ServerMessage, ControlRepliesEscapeUntrustedText) {
  auto connect = parse(encode_connect("c1", "evil\"user\n\\"));
  EXPECT_EQ(connect.at("data").at("user_id"), "evil\"user\n\\");
  auto error = parse(encode_error(ErrorCode::invalid_topic, "bad \"topic\"", R"("req-1")"));
  EXPECT_EQ(error.at("type"), "error");
  EXPECT_EQ(error.at("code"), "invalid_topic");
  EXPECT_EQ(error.at("error"), "bad \"topic\"");
  EXPECT_EQ(error.at("id"), "req-1");
  auto ack = parse(encode_ack(MessageType::subscribe, "a.b", "42"));
  EXPECT_EQ(ack.at("topic"), "a.b");
  EXPECT_EQ(ack.at("id"), 42);
  auto bye = parse(encode_disconnect("shutdown", true));
  EXPECT_EQ(bye.at("data").at("reconnect"), true);
  auto auth = parse(encode_auth_ok("u", {}));
  EXPECT_EQ(auth.at("data").at("user_id"), "u");
}
