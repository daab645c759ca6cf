#pragma once
// Presence (PRESENCE_TOPICS): which connections are subscribed to a topic, cluster-wide,
// over NATS alone (docs/cluster.md, Presence).
//
// Every node keeps a MemberTable: its own members, and a copy of every other node's.
// - A join or leave on this node changes the table at once and waits in a batch; every
//   kBatchPeriod the batch goes to this node's subscribers of each topic and, as one NATS
//   message (or a few: kMaxEventsPerMessage), to every other node, which applies it to
//   its copy and tells its own subscribers. So a join costs a NATS message per batch,
//   not per join, and no node asks another anything to answer a presence request.
// - Per topic and batch, more than kMaxEventsPerTopic joins and leaves reach subscribers
//   as one presence_summary (the counts after them) instead of one frame each: a mass
//   reconnect of N members costs each member a few summaries, not N frames.
// - Each node's messages are numbered (seq, per instance). A node that sees a gap, a new
//   instance or a node it has no copy of asks that node for its full state; a node that
//   (re)connects to NATS asks everyone and sends its own. Full states go in parts.
// - A node that stops says goodbye (its members leave at once); one that dies is
//   noticed by its missing heartbeat: its members leave after 2 heartbeat intervals.
//
// Threads: join/leave/data from any thread (worker threads); NATS messages on the
// broker's thread; batches and the sweep on this object's own thread. One mutex guards
// the table, the batch and the copies' bookkeeping; the hub is given frames outside it.
#include <spdlog/logger.h>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/broker.hpp"
#include "hub/hub.hpp"
#include "presence/member_table.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {

struct PresenceSettings {
  std::vector<TopicPattern> topics;  // PRESENCE_TOPICS
  std::size_t max_members = 1000;    // PRESENCE_MAX_MEMBERS
  std::string node_id;
};

class Presence {
 public:
  static constexpr auto kBatchPeriod = std::chrono::milliseconds(50);
  static constexpr std::size_t kMaxEventsPerTopic = 50;
  static constexpr std::size_t kMaxEventsPerMessage = 1000;

  // Registers its node channels with `broker`: construct before the broker starts.
  Presence(PresenceSettings settings, Broker& broker, const Hub& hub, spdlog::logger& log);
  ~Presence();
  Presence(const Presence&) = delete;
  Presence& operator=(const Presence&) = delete;

  void start();
  // Says goodbye to the other nodes and stops the thread. Idempotent.
  void stop();

  // Whether `topic` matches PRESENCE_TOPICS.
  bool tracked(std::string_view topic) const;
  // `connection`: the member's connection on this node, which does not get its own join.
  void join(const std::string& topic, const PresenceMember& member, std::uint64_t connection);
  void leave(const std::string& topic, const PresenceMember& member);
  // The topic's members on every node (at most PRESENCE_MAX_MEMBERS listed).
  PresenceData data(std::string_view topic) const;
  // Members on every node, all topics together.
  std::size_t members() const;

 private:
  struct Pending {
    PresenceEvent event;
    std::uint64_t connection = 0;  // the joining connection, excluded from its join
  };
  struct Copy {  // what this node knows of another node's messages
    std::string instance;
    std::uint64_t next_seq = 0;
    bool synced = false;  // has had a full state of this instance, and no gap since
    std::chrono::steady_clock::time_point heard;
    std::vector<PresenceEvent> full;                // the parts of a full state being received
    std::chrono::steady_clock::time_point asked{};  // when its full state was last asked for
  };

  void schedule_tick();
  void tick();
  void on_message(std::string_view body);
  void on_sync_request(std::string_view body);
  // Broker's thread, mutex held: sends the whole table part of this node.
  void send_full_state_locked();
  void ask_full_state(const std::string& node);
  // Hands the frames of `events` (in order) to this node's subscribers: per topic each
  // join and leave, or one summary when there are more than kMaxEventsPerTopic.
  void deliver(const std::vector<Pending>& events);
  std::string message_header(std::uint64_t seq) const;

  PresenceSettings settings_;
  Broker& broker_;
  const Hub& hub_;
  spdlog::logger& log_;
  const std::string instance_;  // this run of this node

  mutable std::mutex mutex_;
  MemberTable table_;
  std::vector<Pending> batch_;
  std::uint64_t seq_ = 0;  // of the last message sent
  boost::unordered_flat_map<std::string, Copy> copies_;

  boost::asio::io_context io_context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point last_sweep_{};
  std::thread thread_;
  bool started_ = false;
  // Set by stop() before it asks the thread to end: a batch timer that had already expired
  // when stop's cancel ran would otherwise arm itself again and keep the thread alive.
  std::atomic<bool> stopping_{false};
};

}  // namespace natsync
