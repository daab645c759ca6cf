#include "history/memory_history.hpp"

#include "protocol/server_message.hpp"

namespace natsync {

void MemoryHistory::publish(const std::string& topic, std::string_view data_json,
                            std::uint64_t exclude_connection, std::string_view idempotency_key,
                            PublishDone done) {
  bool delivered = true;
  auto appended = store_.append(
      topic, std::chrono::steady_clock::now(),
      [&](const StreamPosition& at) { return make_topic_data_frame(topic, data_json, &at); },
      [&](const Frame& frame, const StreamPosition& at) {
        delivered = broker_.publish(
            make_publication(Publication::Target::topic, topic, frame, exclude_connection, &at));
      },
      idempotency_key);
  // Stored and delivered here even when `delivered` is false: only a multi-node broker
  // can fail, and this history is for one node.
  done(Stored{delivered, std::move(appended.position), appended.duplicate});
}

void MemoryHistory::recover(const std::string& topic, const std::optional<StreamPosition>& since,
                            RecoverDone done) {
  const auto now = std::chrono::steady_clock::now();
  if (since) {
    done(store_.recover(topic, *since, now));
    return;
  }
  Recovery recovery;
  recovery.position = store_.position(topic, now);
  done(std::move(recovery));
}

void MemoryHistory::read(const std::string& topic, std::uint64_t after, std::size_t limit, ReadDone done) {
  done(store_.read(topic, after, limit, std::chrono::steady_clock::now()));
}

}  // namespace natsync
