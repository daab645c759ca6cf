#include "protocol/client_message.hpp"

#include <gtest/gtest.h>

#include <string>

using natsync::ClientMessage;
using natsync::DocumentChange;
using natsync::ErrorCode;
using natsync::MessageParser;
using natsync::MessageType;
using natsync::ProtocolError;
using natsync::PublishKind;
using namespace std::string_view_literals;
using natsync::PublishRequest;

namespace {

ClientMessage ok(MessageParser& parser, std::string_view text) {
  auto result = parser.parse_client_message(text);
  if (auto* err = std::get_if<ProtocolError>(&result)) {
    ADD_FAILURE() << text << " -> " << err->message;
    return {};
  }
  return std::get<ClientMessage>(result);
}

ProtocolError bad(MessageParser& parser, std::string_view text) {
  auto result = parser.parse_client_message(text);
  if (!std::holds_alternative<ProtocolError>(result)) {
    ADD_FAILURE() << text << " was accepted";
    return {ErrorCode::internal_error, {}, {}};
  }
  auto err = std::get<ProtocolError>(result);
  EXPECT_FALSE(err.message.empty());
  return err;
}

}  // namespace

TEST(ClientMessage, ParsesEveryClientType) {
  MessageParser parser;
  auto sub = ok(parser, R"({"type":"subscribe","topic":"user.notifications"})");
  EXPECT_EQ(sub.type, MessageType::subscribe);
  EXPECT_EQ(sub.topic, "user.notifications");

  auto unsub = ok(parser, R"({"type":"unsubscribe","topic":"a","id":7})");
  EXPECT_EQ(unsub.type, MessageType::unsubscribe);
  EXPECT_EQ(unsub.id, "7");

  auto sync = ok(parser, R"({"type":"sync","topic":"doc.1","data": {"x" : [1, 2, "three"]},"id":"r1"})");
  EXPECT_EQ(sync.type, MessageType::sync);
  EXPECT_EQ(sync.data, R"({"x":[1,2,"three"]})");
  EXPECT_EQ(sync.id, R"("r1")");

  EXPECT_EQ(ok(parser, R"({"type":"sync","topic":"t","data":null})").data, "null");
  EXPECT_EQ(ok(parser, R"({"type":"sync","topic":"t","data":"s"})").data, R"("s")");

  EXPECT_EQ(ok(parser, R"({"type":"auth","token":"abc"})").token, "abc");
  EXPECT_EQ(ok(parser, R"({"type":"auth","data":{"token":"xyz"}})").token, "xyz");
  EXPECT_EQ(ok(parser, R"({"type":"disconnect"})").type, MessageType::disconnect);
  EXPECT_EQ(ok(parser, R"({"type":"ping","id":9})").type, MessageType::ping);
  EXPECT_EQ(ok(parser, R"({"type":"sync","topic":"t","data":1,"idempotency_key":"k"})").idempotency_key, "k");
  EXPECT_EQ(ok(parser, R"({"type":"subscribe","topic":"chat.*"})").topic, "chat.*");
  EXPECT_EQ(ok(parser, R"({"type":"subscribe","topic":">"})").topic, ">");
  EXPECT_EQ(ok(parser, R"({"type":"unsubscribe","topic":"a.*.c.>"})").topic, "a.*.c.>");
  EXPECT_EQ(ok(parser, R"({"type":"presence","topic":"room.1","id":3})").type, MessageType::presence);
  // Unknown extra fields are ignored, for forward compatibility.
  EXPECT_EQ(ok(parser, R"({"type":"disconnect","future":1})").type, MessageType::disconnect);
}

TEST(ClientMessage, RejectsHostileInputWithAClearCode) {
  MessageParser parser;
  EXPECT_EQ(bad(parser, "").code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, "not json").code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, "{").code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a"} trailing)").code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, "[1,2]").code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, "42").code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, std::string(100000, '[')).code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, std::string("{\"type\":\"sub\xff\"}")).code, ErrorCode::invalid_json);
  EXPECT_EQ(bad(parser, std::string("{\"type\":\"a\0\"}"sv)).code, ErrorCode::invalid_json);

  EXPECT_EQ(bad(parser, "{}").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":5})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"nope"})").code, ErrorCode::unknown_type);
  EXPECT_EQ(bad(parser, R"({"type":"data","topic":"a","data":1})").code, ErrorCode::unknown_type);
  EXPECT_EQ(bad(parser, R"({"type":"connect"})").code, ErrorCode::unknown_type);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe"})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":7})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":""})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a..b"})").code, ErrorCode::invalid_topic);
  // Patterns: subscribe and unsubscribe only, well formed, and never with "since".
  EXPECT_EQ(bad(parser, R"({"type":"sync","topic":"chat.*","data":1})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"presence","topic":"chat.>"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"chat.>.x"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"chat..*"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"chat.*."})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":".>"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"chat*"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a.b>"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a.*.é"})").code, ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":")" + std::string(128, 'a') + "." +
                            std::string(127, '*') + "\"}")
                .code,
            ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"chat.*","since":{"offset":1,"epoch":"e"}})").code,
            ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":")" + std::string(300, 'a') + "\"}").code,
            ErrorCode::invalid_topic);
  EXPECT_EQ(bad(parser, R"({"type":"sync","topic":"a"})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"auth"})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"pong"})").code, ErrorCode::unknown_type);
  EXPECT_EQ(bad(parser, R"({"type":"sync","topic":"a","data":1,"idempotency_key":""})").code,
            ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"sync","topic":"a","data":1,"idempotency_key":7})").code,
            ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser,
                R"({"type":"sync","topic":"a","data":1,"idempotency_key":")" + std::string(129, 'k') + "\"}")
                .code,
            ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"auth","token":1})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a","id":{"x":1}})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a","id":1.5})").code, ErrorCode::invalid_message);
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"a","id":")" + std::string(257, 'i') + "\"}").code,
            ErrorCode::invalid_message);
  const auto longest = R"({"type":"subscribe","topic":"a","id":")" + std::string(256, 'i') + "\"}";
  EXPECT_TRUE(std::holds_alternative<ClientMessage>(parser.parse_client_message(longest)));
}

TEST(ClientMessage, ErrorsCarryTheRequestId) {
  MessageParser parser;
  EXPECT_EQ(bad(parser, R"({"id":"q9","type":"subscribe","topic":"a b"})").id, R"("q9")");
  EXPECT_EQ(bad(parser, R"({"id":3,"type":"nope"})").id, "3");
}

TEST(ClientMessage, MaxTopicLengthLowersTheLimit) {
  MessageParser parser(10);
  EXPECT_EQ(ok(parser, R"({"type":"subscribe","topic":"abcde.ghij"})").topic, "abcde.ghij");
  EXPECT_EQ(bad(parser, R"({"type":"subscribe","topic":"abcde.ghijk"})").code, ErrorCode::invalid_topic);
  const auto published =
      parser.parse_publish_request(R"({"topic":"abcde.ghijk","data":1})", PublishKind::topic_or_user);
  ASSERT_TRUE(std::holds_alternative<ProtocolError>(published));
  EXPECT_EQ(std::get<ProtocolError>(published).code, ErrorCode::invalid_topic);
}

TEST(ClientMessage, ParserIsReusableAcrossSizes) {
  MessageParser parser;
  const std::string big = R"({"type":"sync","topic":"t","data":")" + std::string(60000, 'x') + "\"}";
  EXPECT_EQ(ok(parser, big).data.size(), 60002U);
  EXPECT_EQ(ok(parser, R"({"type":"disconnect"})").type, MessageType::disconnect);
}

TEST(PublishRequest, TopicUserAndBroadcast) {
  MessageParser parser;
  auto topic = parser.parse_publish_request(R"({"topic":"updates","data":{"message":"Hello World"}})",
                                            PublishKind::topic_or_user);
  ASSERT_TRUE(std::holds_alternative<PublishRequest>(topic));
  EXPECT_EQ(std::get<PublishRequest>(topic).topic, "updates");
  EXPECT_EQ(std::get<PublishRequest>(topic).data, R"({"message":"Hello World"})");

  auto user = parser.parse_publish_request(R"({"user_id":"u1","data":1})", PublishKind::topic_or_user);
  ASSERT_TRUE(std::holds_alternative<PublishRequest>(user));
  EXPECT_EQ(std::get<PublishRequest>(user).user_id, "u1");

  auto all = parser.parse_publish_request(R"({"data":{"announcement":"x"}})", PublishKind::broadcast);
  ASSERT_TRUE(std::holds_alternative<PublishRequest>(all));
}

TEST(PublishRequest, RejectsBadBodies) {
  MessageParser parser;
  for (const char* body :
       {"", "{", "[]", R"({"topic":"a"})", R"({"data":1})", R"({"topic":"a","user_id":"u","data":1})",
        R"({"topic":"a b","data":1})", R"({"topic":1,"data":1})", R"({"user_id":"","data":1})"}) {
    auto result = parser.parse_publish_request(body, PublishKind::topic_or_user);
    EXPECT_TRUE(std::holds_alternative<ProtocolError>(result)) << body;
  }
  EXPECT_TRUE(
      std::holds_alternative<ProtocolError>(parser.parse_publish_request("{}", PublishKind::broadcast)));
}

TEST(MessageParser, IsJsonAcceptsOneValueOfAnyTypeOnly) {
  MessageParser parser;
  for (const char* good : {"1", "\"s\"", "null", "[1,{\"a\":2}]", " {\"a\" : 1}\n"}) {
    EXPECT_TRUE(parser.is_json(good)) << good;
  }
  for (const char* bad : {"", "{", "1 2", "{\"a\":}", "\xff", "[1,]", "nul"}) {
    EXPECT_FALSE(parser.is_json(bad)) << bad;
  }
}

TEST(ClientMessage, SubscribeSinceIsAnOffsetAndAnEpoch) {
  MessageParser parser;
  auto with = ok(parser, R"({"type":"subscribe","topic":"orders","since":{"offset":42,"epoch":"a1b2"}})");
  ASSERT_TRUE(with.since.has_value());
  EXPECT_EQ(with.since->offset, 42U);
  EXPECT_EQ(with.since->epoch, "a1b2");
  auto zero = ok(parser, R"({"type":"subscribe","topic":"orders","since":{"offset":0}})");
  ASSERT_TRUE(zero.since.has_value());
  EXPECT_EQ(zero.since->epoch, "");
  EXPECT_FALSE(ok(parser, R"({"type":"subscribe","topic":"orders"})").since.has_value());
  EXPECT_FALSE(ok(parser, R"({"type":"unsubscribe","topic":"orders","since":5})").since.has_value())
      << "only subscribe reads it";
  for (const auto* text : {
           R"({"type":"subscribe","topic":"t","since":5})",
           R"({"type":"subscribe","topic":"t","since":{}})",
           R"({"type":"subscribe","topic":"t","since":{"offset":-1}})",
           R"({"type":"subscribe","topic":"t","since":{"offset":1.5}})",
           R"({"type":"subscribe","topic":"t","since":{"offset":"3"}})",
           R"({"type":"subscribe","topic":"t","since":{"offset":1,"epoch":7}})",
       }) {
    EXPECT_EQ(bad(parser, text).code, ErrorCode::invalid_message) << text;
  }
  const std::string long_epoch = R"({"type":"subscribe","topic":"t","id":9,"since":{"offset":1,"epoch":")" +
                                 std::string(65, 'e') + R"("}})";
  const auto error = bad(parser, long_epoch);
  EXPECT_EQ(error.code, ErrorCode::invalid_message);
  EXPECT_EQ(error.id, "9");
}

TEST(ClientMessage, PatchTakesExactlyOneFormAndAnIfRevision) {
  MessageParser parser;
  auto merge = std::get<ClientMessage>(
      parser.parse_client_message(R"({"type":"patch","topic":"b.1","data":{"a" : 1}})"));
  EXPECT_EQ(merge.type, MessageType::patch);
  EXPECT_EQ(merge.change.form, DocumentChange::Form::merge);
  EXPECT_EQ(merge.change.body, R"({"a":1})");
  EXPECT_FALSE(merge.change.if_revision);
  auto ops = std::get<ClientMessage>(parser.parse_client_message(
      R"({"type":"patch","topic":"b.1","ops":[{"op":"remove","path":"/a"}],"if_revision":7})"));
  EXPECT_EQ(ops.change.form, DocumentChange::Form::ops);
  EXPECT_EQ(ops.change.if_revision, 7U);
  auto replace = std::get<ClientMessage>(
      parser.parse_client_message(R"({"type":"patch","topic":"b.1","data":null,"replace":true})"));
  EXPECT_EQ(replace.change.form, DocumentChange::Form::replace);
  EXPECT_EQ(replace.change.body, "null");
  for (const char* bad :
       {R"({"type":"patch","topic":"b.1"})", R"({"type":"patch","topic":"b.1","data":1,"ops":[]})",
        R"({"type":"patch","topic":"b.1","ops":{}})",
        R"({"type":"patch","topic":"b.1","ops":[],"replace":true})",
        R"({"type":"patch","topic":"b.1","data":1,"replace":1})",
        R"({"type":"patch","topic":"b.1","data":1,"if_revision":-1})",
        R"({"type":"patch","topic":"b.1","data":1,"if_revision":"1"})", R"({"type":"patch","data":1})"}) {
    auto parsed = parser.parse_client_message(bad);
    ASSERT_TRUE(std::holds_alternative<ProtocolError>(parsed)) << bad;
    EXPECT_EQ(std::get<ProtocolError>(parsed).code, ErrorCode::invalid_message) << bad;
  }
}

TEST(ClientMessage, SinceIsAnOffsetOrARevisionNeverBoth) {
  MessageParser parser;
  auto revision = std::get<ClientMessage>(parser.parse_client_message(
      R"({"type":"subscribe","topic":"b.1","since":{"revision":4,"epoch":"e"}})"));
  EXPECT_EQ(revision.since->offset, 4U);
  EXPECT_EQ(revision.since->epoch, "e");
  for (const char* bad : {R"({"type":"subscribe","topic":"b.1","since":{"revision":4,"offset":4}})",
                          R"({"type":"subscribe","topic":"b.1","since":{"epoch":"e"}})",
                          R"({"type":"subscribe","topic":"b.1","since":{"revision":-4}})"}) {
    EXPECT_TRUE(std::holds_alternative<ProtocolError>(parser.parse_client_message(bad))) << bad;
  }
}
