#pragma once
// The documents of a standalone node: working copies in memory, persisted by a
// DocumentStore, changed under a per-shard lock and committed by one thread.
//
// A change is checked (if_revision) and applied to the document's head under its shard's
// lock, numbered head+1, and queued. The committer thread takes everything queued, saves
// it in one transaction (group commit: one fsync for all of them), then, in queue order,
// makes each change the committed state, hands its patch frame to the broker and
// answers its writer. So:
// - reads, snapshots and recoveries see committed state only: nothing a client is
//   shown can be lost by a crash;
// - patches reach every worker in revision order (one thread publishes them, and a
//   worker runs what it is posted in order);
// - a document's committed state is updated before its patch is published, so a
//   subscriber that joins the hub and then recovers either gets a revision in its
//   recovery or receives it live (the invariant of issue 15, for documents).
// If a save fails, every queued change is refused (unavailable) and every head is set
// back to its committed state: later changes were built on the failed ones.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker/broker.hpp"
#include "documents/document_settings.hpp"
#include "documents/document_store.hpp"
#include "documents/documents.hpp"
#include "documents/recent_changes.hpp"

namespace natsync {

class LocalDocuments final : public Documents {
 public:
  LocalDocuments(DocumentSettings settings, std::unique_ptr<DocumentStore> store, Broker& broker);
  // Commits what is queued, then stops the committer.
  ~LocalDocuments() override;
  LocalDocuments(const LocalDocuments&) = delete;
  LocalDocuments& operator=(const LocalDocuments&) = delete;

  bool document(std::string_view topic) const override { return is_document(settings_, topic); }
  void read(const std::string& topic, ReadDone done) override;
  void change(const std::string& topic, const DocumentChange& change, ChangeDone done) override;
  void recover(const std::string& topic, const std::optional<StreamPosition>& since,
               RecoverDone done) override;
  std::size_t documents() const override;

 private:
  struct State {
    nlohmann::json head;  // the latest accepted change applied (maybe not committed yet)
    std::uint64_t head_revision = 0;
    std::string committed_json = "null";
    std::uint64_t committed_revision = 0;
    Frame snapshot;        // of the committed state, made on first use
    RecentChanges recent;  // committed changes
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, State> documents;
  };
  struct Pending {
    std::string topic;
    std::uint64_t revision = 0;
    std::string data_json;
    Frame patch;
    ChangeDone done;
  };

  Shard& shard_for(std::string_view topic);
  // The document's state, loaded from the store on first use. Under `shard`'s lock.
  State& state_of(Shard& shard, const std::string& topic);
  void run_committer();
  void commit(std::vector<Pending>& batch);
  void refuse(std::vector<Pending>& batch, const std::string& why);

  static constexpr std::size_t kShards = 16;
  DocumentSettings settings_;
  std::unique_ptr<DocumentStore> store_;
  Broker& broker_;
  std::string epoch_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  std::thread committer_;
};

}  // namespace natsync
