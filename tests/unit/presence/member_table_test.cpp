#include "presence/member_table.hpp"

#include <gtest/gtest.h>

#include "protocol/presence_messages.hpp"

using namespace natsync;

namespace {
PresenceMember member(std::string client, std::string user) {
  return PresenceMember{std::move(client), std::move(user)};
}
}  // namespace

TEST(MemberTable, CountsAcrossNodesExactlyAndCapsTheList) {
  MemberTable table;
  EXPECT_TRUE(table.join("n1", "room", member("n1-1", "alice")));
  EXPECT_FALSE(table.join("n1", "room", member("n1-1", "alice")));  // idempotent
  EXPECT_TRUE(table.join("n1", "room", member("n1-2", "alice")));   // a second tab
  EXPECT_TRUE(table.join("n2", "room", member("n2-1", "bob")));
  EXPECT_TRUE(table.join("n2", "other", member("n2-1", "bob")));
  auto data = table.data("room", 2);
  EXPECT_EQ(data.connections, 3U);
  EXPECT_EQ(data.users, 2U);
  EXPECT_EQ(data.members.size(), 2U);
  EXPECT_TRUE(data.truncated);
  EXPECT_FALSE(table.data("room", 10).truncated);
  EXPECT_EQ(table.data("nobody", 10).connections, 0U);
  EXPECT_EQ(table.size(), 4U);
  EXPECT_FALSE(table.leave("n1", "room", member("n9-9", "x")));  // not a member: nothing
  EXPECT_TRUE(table.leave("n1", "room", member("n1-2", "alice")));
  EXPECT_EQ(table.data("room", 10).connections, 2U);
}

TEST(MemberTable, ReplaceAndDropSayWhatChanged) {
  MemberTable table;
  table.join("n2", "room", member("n2-1", "bob"));
  table.join("n2", "room", member("n2-2", "carol"));
  // A full state in which carol left and dave came: one leave, one join.
  auto changes = table.replace("n2", {PresenceEvent{true, "room", member("n2-1", "bob")},
                                      PresenceEvent{true, "room", member("n2-3", "dave")}});
  ASSERT_EQ(changes.size(), 2U);
  EXPECT_FALSE(changes[0].join);
  EXPECT_EQ(changes[0].member.user_id, "carol");
  EXPECT_TRUE(changes[1].join);
  EXPECT_EQ(changes[1].member.user_id, "dave");
  EXPECT_TRUE(table.replace("n2", table.members_of("n2")).empty());  // the same state: nothing
  auto leaves = table.drop("n2");                                    // the node died
  EXPECT_EQ(leaves.size(), 2U);
  EXPECT_FALSE(leaves[0].join);
  EXPECT_EQ(table.size(), 0U);
  EXPECT_TRUE(table.drop("n2").empty());
}

TEST(PresenceMessages, EncodesTheContract) {
  EXPECT_EQ(make_presence_event_frame(true, "room", member("n1-1", "al\"ice"))->payload(),
            R"({"type":"join","topic":"room","data":{"user_id":"al\"ice","client_id":"n1-1"}})");
  PresenceData data{2, 1, {member("c1", "u")}, true};
  EXPECT_EQ(
      encode_presence_reply("room", "7", data),
      R"({"type":"presence","topic":"room","id":7,"data":{"connections":2,"users":1,"members":[{"user_id":"u","client_id":"c1"}],"truncated":true}})");
}
