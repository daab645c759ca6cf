// RecentChanges: the kept changes of a document for catch-up are consecutive, bounded
// by count and bytes, and answer only when every change asked for is there.
#include "documents/recent_changes.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace natsync;

namespace {
Frame frame_of(std::uint64_t revision, std::size_t size = 10) {
  std::string text = std::to_string(revision);
  text.append(size, 'x');
  return make_text_frame(text);
}
}  // namespace

TEST(RecentChanges, AnswersOnlyWhenEveryChangeAfterSinceIsKept) {
  RecentChanges recent;
  EXPECT_EQ(recent.last(), 0U);
  EXPECT_TRUE(recent.after(0, 0).has_value());  // current: nothing to send
  EXPECT_FALSE(recent.after(0, 1).has_value());
  for (std::uint64_t r = 1; r <= 5; ++r) recent.add(r, frame_of(r), 3, 1000);
  EXPECT_EQ(recent.last(), 5U);
  EXPECT_FALSE(recent.after(1, 5).has_value());  // 2 is no longer kept (3 at most)
  ASSERT_TRUE(recent.after(2, 5).has_value());
  EXPECT_EQ(recent.after(2, 5)->size(), 3U);
  EXPECT_EQ(recent.after(4, 5)->size(), 1U);
  EXPECT_TRUE(recent.after(5, 5)->empty());
  EXPECT_FALSE(recent.after(6, 5).has_value());  // a revision never reached
  EXPECT_FALSE(recent.after(3, 6).has_value());  // through a revision not kept
}

TEST(RecentChanges, AGapStartsOverAndBytesBoundIt) {
  RecentChanges recent;
  recent.add(1, frame_of(1), 100, 1000);
  recent.add(2, frame_of(2), 100, 1000);
  recent.add(7, frame_of(7), 100, 1000);  // 3..6 never came this way
  EXPECT_FALSE(recent.after(1, 7).has_value());
  ASSERT_TRUE(recent.after(6, 7).has_value());
  RecentChanges small;
  for (std::uint64_t r = 1; r <= 10; ++r) small.add(r, frame_of(r, 100), 100, 350);
  EXPECT_TRUE(small.after(7, 10).has_value());
  EXPECT_FALSE(small.after(6, 10).has_value());  // four frames of ~100 bytes are over 350
  small.clear();
  EXPECT_EQ(small.last(), 0U);
}
