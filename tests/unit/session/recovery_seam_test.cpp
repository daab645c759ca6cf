// The seam between a durable topic's replay and its live messages (RecoverySeam), as a
// pure value: what is held while the history has not answered, what is a repeat after
// it, and when the topic becomes plain live.
#include "session/recovery_seam.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

using natsync::Frame;
using natsync::Publication;
using natsync::RecoverySeam;
using natsync::StreamPosition;
using natsync::WireFrame;
using Live = RecoverySeam::Live;

namespace {

Publication message(const std::string& topic, std::uint64_t offset, const std::string& epoch = "e1") {
  Publication publication;
  publication.target = Publication::Target::topic;
  publication.key = topic;
  publication.offset = offset;
  publication.epoch = epoch;
  publication.frame = std::make_shared<const WireFrame>(WireFrame::Opcode::text,
                                                        std::string("m").append(std::to_string(offset)));
  return publication;
}

std::string text(const Frame& frame) { return std::string(frame->payload()); }

}  // namespace

TEST(RecoverySeam, WithoutASeamEverythingIsLive) {
  RecoverySeam seam;
  EXPECT_TRUE(seam.empty());
  EXPECT_EQ(seam.admit(message("a", 1)), Live::deliver);
  EXPECT_FALSE(seam.recovering("a"));
  EXPECT_EQ(seam.held_bytes("a"), 0U);
}

TEST(RecoverySeam, HoldsUntilTheHistoryAnswersThenDropsWhatTheReplayHad) {
  RecoverySeam seam;
  seam.begin("a");
  EXPECT_TRUE(seam.recovering("a"));
  EXPECT_FALSE(seam.recovering("b"));
  EXPECT_EQ(seam.admit(message("b", 7)), Live::deliver);  // another topic is not held
  for (std::uint64_t offset = 4; offset <= 6; ++offset)
    EXPECT_EQ(seam.admit(message("a", offset)), Live::held);
  EXPECT_EQ(seam.held_bytes("a"), 3 * message("a", 4).frame->size());
  // The replay went up to 5: 4 and 5 were in it, 6 comes after.
  const auto live = seam.finish("a", StreamPosition{5, "e1"});
  ASSERT_EQ(live.size(), 1U);
  EXPECT_EQ(text(live[0]), "m6");
  // The first live message after the position ended the seam.
  EXPECT_TRUE(seam.empty());
  EXPECT_EQ(seam.admit(message("a", 3)), Live::deliver);
}

TEST(RecoverySeam, AfterTheAnswerRepeatsAreDroppedUntilTheFirstLaterMessage) {
  RecoverySeam seam;
  seam.begin("a");
  EXPECT_TRUE(seam.finish("a", StreamPosition{10, "e1"}).empty());
  EXPECT_FALSE(seam.recovering("a"));
  EXPECT_FALSE(seam.empty());                             // still filtering: copies in flight
  EXPECT_EQ(seam.admit(message("a", 9)), Live::repeat);   // the replay had it
  EXPECT_EQ(seam.admit(message("a", 10)), Live::repeat);  // and this one
  EXPECT_EQ(seam.admit(message("a", 11)), Live::deliver);
  EXPECT_TRUE(seam.empty());
}

TEST(RecoverySeam, OffsetsOfAnotherEpochAreNotComparable) {
  RecoverySeam seam;
  seam.begin("a");
  EXPECT_TRUE(seam.finish("a", StreamPosition{10, "e1"}).empty());
  EXPECT_EQ(seam.admit(message("a", 2, "e2")), Live::deliver);  // a new history: live
  seam.begin("b");
  EXPECT_EQ(seam.admit(message("b", 3, "e2")), Live::held);
  const auto live = seam.finish("b", StreamPosition{10, "e1"});
  ASSERT_EQ(live.size(), 1U);
  EXPECT_EQ(text(live[0]), "m3");
}

TEST(RecoverySeam, NothingStoredMeansEverythingHeldIsLive) {
  RecoverySeam seam;
  seam.begin("a");
  seam.admit(message("a", 1));
  seam.admit(message("a", 2));
  const auto live = seam.finish("a", StreamPosition{0, ""});
  ASSERT_EQ(live.size(), 2U);
  EXPECT_EQ(text(live[0]), "m1");
  EXPECT_EQ(text(live[1]), "m2");
  EXPECT_TRUE(seam.empty());
}

TEST(RecoverySeam, ForgetAndBeginAgainStartOver) {
  RecoverySeam seam;
  seam.begin("a");
  seam.admit(message("a", 1));
  seam.forget("a");
  EXPECT_TRUE(seam.empty());
  EXPECT_TRUE(seam.finish("a", StreamPosition{1, "e1"}).empty());  // unsubscribed meanwhile
  seam.begin("a");
  seam.admit(message("a", 1));
  seam.begin("a");  // a second subscribe: what was held for the first is gone
  EXPECT_EQ(seam.held_bytes("a"), 0U);
  EXPECT_TRUE(seam.recovering("a"));
  seam.forget("zzz");  // unknown: nothing happens
  EXPECT_TRUE(seam.recovering("a"));
}
