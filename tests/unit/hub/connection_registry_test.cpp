#include "hub/connection_registry.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using natsync::ConnectionRegistry;

TEST(ConnectionRegistry, CountsDistinctUsersAndAnonymousConnections) {
  ConnectionRegistry registry;
  registry.add("alice");
  registry.add("alice");
  registry.add("bob");
  registry.add("");
  registry.add("");
  EXPECT_EQ(registry.connections(), 5U);
  EXPECT_EQ(registry.clients(), 4U);  // alice, bob, two anonymous
  EXPECT_EQ(registry.connections_of("alice"), 2U);
  registry.change_user("", "carol");
  EXPECT_EQ(registry.clients(), 4U);
  registry.remove("alice");
  registry.remove("alice");
  registry.remove("bob");
  registry.remove("carol");
  registry.remove("");
  EXPECT_EQ(registry.connections(), 0U);
  EXPECT_EQ(registry.clients(), 0U);
  registry.remove("ghost");  // never below zero
  EXPECT_EQ(registry.connections(), 0U);
}

TEST(ConnectionRegistry, IdsAreUniqueAcrossThreads) {
  ConnectionRegistry registry;
  std::vector<std::vector<std::uint64_t>> ids(4);
  std::vector<std::thread> threads;
  threads.reserve(ids.size());
  for (auto& list : ids) {
    threads.emplace_back([&registry, &list] {
      for (int i = 0; i < 10000; ++i) list.push_back(registry.next_connection_id());
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::uint64_t> all;
  for (auto& list : ids) all.insert(all.end(), list.begin(), list.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}
