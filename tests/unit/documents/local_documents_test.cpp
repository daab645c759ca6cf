// LocalDocuments: consecutive revisions, compare-and-set, the catch-up decision, patch
// frames published in revision order after they are stored, a failing store, and the
// SQLite store across a restart and a SIGKILL (crash consistency).
#include "documents/local_documents.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>

#include "documents/sqlite_document_store.hpp"

using namespace natsync;

namespace {

// Records what is published, as the hub would receive it.
class RecordingBroker final : public Broker {
 public:
  bool publish(PublicationPtr publication) override {
    const std::lock_guard lock(mutex_);
    published_.push_back(std::move(publication));
    return true;
  }
  void interest_gained(Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  void interest_lost(Channel, const std::string&) override {}
  void when_ready(Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  BrokerStatus status() const override { return {}; }
  // No other node, and nothing here uses node messages.
  void on_node_message(const std::string&, NodeMessageFn) override {}
  void send_to_nodes(const std::string&, std::string_view, std::function<void()> sent) override {
    if (sent) sent();
  }
  std::vector<PublicationPtr> published() const {
    const std::lock_guard lock(mutex_);
    return published_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<PublicationPtr> published_;
};

// A store whose saves fail while `failing` is set.
class FlakyStore final : public DocumentStore {
 public:
  std::string epoch() const override { return "flaky"; }
  std::optional<DocumentRow> load(const std::string&) override { return std::nullopt; }
  void save(const std::vector<DocumentRow>&) override {
    if (failing) throw std::runtime_error("disk full");
  }
  std::atomic<bool> failing{false};
};

DocumentSettings board_settings(std::size_t kept = 100) {
  DocumentSettings settings;
  settings.topics.push_back(*TopicPattern::parse("board.>"));
  settings.max_bytes = 4096;
  settings.changes_kept = kept;
  return settings;
}

DocumentChange merge(std::string body, std::optional<std::uint64_t> if_revision = std::nullopt) {
  return DocumentChange{DocumentChange::Form::merge, std::move(body), if_revision};
}

DocumentOutcome change_and_wait(Documents& documents, const std::string& topic,
                                const DocumentChange& change) {
  std::promise<DocumentOutcome> outcome;
  documents.change(topic, change, [&outcome](const DocumentOutcome& o) { outcome.set_value(o); });
  return outcome.get_future().get();
}

DocumentSnapshot read_now(Documents& documents, const std::string& topic) {
  std::optional<DocumentSnapshot> seen;
  documents.read(topic, [&seen](std::optional<DocumentSnapshot> s) { seen = std::move(s); });
  EXPECT_TRUE(seen.has_value());
  return seen.value_or(DocumentSnapshot{});
}

DocumentRecovery recover_now(Documents& documents, const std::string& topic,
                             std::optional<StreamPosition> since) {
  std::optional<DocumentRecovery> seen;
  documents.recover(topic, since, [&seen](DocumentRecovery r) { seen = std::move(r); });
  EXPECT_TRUE(seen.has_value());
  return seen.value_or(DocumentRecovery{});
}

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("natsync-docs-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST(LocalDocuments, ConsecutiveRevisionsPublishedInOrderAfterTheyAreStored) {
  RecordingBroker broker;
  LocalDocuments documents(board_settings(), std::make_unique<MemoryDocumentStore>("e1"), broker);
  EXPECT_TRUE(documents.document("board.1"));
  EXPECT_FALSE(documents.document("chat.1"));
  EXPECT_EQ(read_now(documents, "board.1").data_json, "null");
  EXPECT_EQ(read_now(documents, "board.1").revision, 0U);
  for (int i = 1; i <= 20; ++i) {
    auto outcome = change_and_wait(documents, "board.1", merge(R"({"n":)" + std::to_string(i) + "}"));
    ASSERT_EQ(outcome.status, DocumentOutcome::Status::ok);
    EXPECT_EQ(outcome.revision, static_cast<std::uint64_t>(i));
  }
  const auto snapshot = read_now(documents, "board.1");
  EXPECT_EQ(snapshot.data_json, R"({"n":20})");
  EXPECT_EQ(snapshot.revision, 20U);
  EXPECT_EQ(snapshot.epoch, "e1");
  const auto published = broker.published();
  ASSERT_EQ(published.size(), 20U);
  for (std::size_t i = 0; i < published.size(); ++i) {
    EXPECT_EQ(published[i]->offset, i + 1);
    EXPECT_EQ(published[i]->epoch, "e1");
    EXPECT_EQ(published[i]->key, "board.1");
    EXPECT_EQ(published[i]->frame->payload(), R"({"type":"patch","topic":"board.1","revision":)" +
                                                  std::to_string(i + 1) + R"(,"data":{"n":)" +
                                                  std::to_string(i + 1) + "}}");
  }
}

TEST(LocalDocuments, IfRevisionIsCompareAndSet) {
  RecordingBroker broker;
  LocalDocuments documents(board_settings(), std::make_unique<MemoryDocumentStore>("e1"), broker);
  EXPECT_EQ(change_and_wait(documents, "board.1", merge(R"({"a":1})", 0)).status,
            DocumentOutcome::Status::ok);
  auto conflict = change_and_wait(documents, "board.1", merge(R"({"a":2})", 0));
  EXPECT_EQ(conflict.status, DocumentOutcome::Status::revision_conflict);
  EXPECT_EQ(conflict.revision, 1U);
  EXPECT_EQ(change_and_wait(documents, "board.1", merge(R"({"a":2})", 1)).revision, 2U);
  auto rejected = change_and_wait(
      documents, "board.1", {DocumentChange::Form::ops, R"([{"op":"remove","path":"/nope"}])", std::nullopt});
  EXPECT_EQ(rejected.status, DocumentOutcome::Status::rejected);
  EXPECT_EQ(rejected.code, ErrorCode::patch_failed);
  EXPECT_EQ(read_now(documents, "board.1").revision, 2U);  // refused changes take no revision
  EXPECT_EQ(broker.published().size(), 2U);
}

TEST(LocalDocuments, CatchUpWhileTheChangesAreKeptElseTheSnapshot) {
  RecordingBroker broker;
  LocalDocuments documents(board_settings(3), std::make_unique<MemoryDocumentStore>("e1"), broker);
  for (int i = 1; i <= 5; ++i)
    change_and_wait(documents, "board.1", merge(R"({"n":)" + std::to_string(i) + "}"));

  auto fresh = recover_now(documents, "board.1", std::nullopt);
  EXPECT_FALSE(fresh.recovered);
  EXPECT_EQ(fresh.position.offset, 5U);
  ASSERT_EQ(fresh.frames.size(), 1U);
  EXPECT_EQ(fresh.frames[0]->payload(),
            R"({"type":"snapshot","topic":"board.1","data":{"n":5},"revision":5,"epoch":"e1"})");

  auto current = recover_now(documents, "board.1", StreamPosition{5, "e1"});
  EXPECT_TRUE(current.recovered);
  EXPECT_TRUE(current.frames.empty());

  auto behind = recover_now(documents, "board.1", StreamPosition{2, "e1"});  // 3, 4, 5 are kept
  EXPECT_TRUE(behind.recovered);
  ASSERT_EQ(behind.frames.size(), 3U);
  EXPECT_NE(behind.frames[0]->payload().find(R"("revision":3)"), std::string::npos);

  for (const auto& since : {StreamPosition{1, "e1"}, StreamPosition{5, "other"}, StreamPosition{9, "e1"}}) {
    auto snapshot = recover_now(documents, "board.1", since);
    EXPECT_FALSE(snapshot.recovered) << since.offset << " " << since.epoch;
    ASSERT_EQ(snapshot.frames.size(), 1U);
    EXPECT_NE(snapshot.frames[0]->payload().find(R"("type":"snapshot")"), std::string::npos);
  }
}

TEST(LocalDocuments, AFailedSaveRefusesTheChangeAndLaterOnesBuildOnWhatIsStored) {
  RecordingBroker broker;
  auto store = std::make_unique<FlakyStore>();
  auto* flaky = store.get();
  LocalDocuments documents(board_settings(), std::move(store), broker);
  EXPECT_EQ(change_and_wait(documents, "board.1", merge(R"({"a":1})")).revision, 1U);
  flaky->failing = true;
  auto refused = change_and_wait(documents, "board.1", merge(R"({"b":2})"));
  EXPECT_EQ(refused.status, DocumentOutcome::Status::unavailable);
  EXPECT_NE(refused.message.find("disk full"), std::string::npos);
  flaky->failing = false;
  auto next = change_and_wait(documents, "board.1", merge(R"({"c":3})", 1));
  EXPECT_EQ(next.status, DocumentOutcome::Status::ok);
  EXPECT_EQ(next.revision, 2U);
  EXPECT_EQ(read_now(documents, "board.1").data_json, R"({"a":1,"c":3})");
  EXPECT_EQ(broker.published().size(), 2U);
}

TEST(SqliteDocumentStore, ARestartKeepsEveryDocumentItsRevisionAndTheEpoch) {
  const auto dir = temp_dir();
  const auto path = dir + "/documents.db";
  std::string epoch;
  {
    RecordingBroker broker;
    auto store = std::make_unique<SqliteDocumentStore>(path);
    epoch = store->epoch();
    LocalDocuments documents(board_settings(), std::move(store), broker);
    for (int i = 0; i < 10; ++i)
      change_and_wait(documents, "board." + std::to_string(i % 3),
                      merge(R"({"i":)" + std::to_string(i) + "}"));
  }
  RecordingBroker broker;
  auto store = std::make_unique<SqliteDocumentStore>(path);
  EXPECT_EQ(store->epoch(), epoch);
  LocalDocuments documents(board_settings(), std::move(store), broker);
  EXPECT_EQ(read_now(documents, "board.0").revision, 4U);
  EXPECT_EQ(read_now(documents, "board.0").data_json, R"({"i":9})");
  EXPECT_EQ(read_now(documents, "board.1").revision, 3U);
  EXPECT_EQ(read_now(documents, "board.2").data_json, R"({"i":8})");
  EXPECT_EQ(change_and_wait(documents, "board.0", merge("{}", 4)).revision, 5U);
  std::filesystem::remove_all(dir);
}

TEST(SqliteDocumentStore, KilledBetweenChangesEveryAcknowledgedOneIsThere) {
  const auto dir = temp_dir();
  const auto path = dir + "/documents.db";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child changes a counter as fast as it can and reports each acknowledged revision.
    ::close(pipe_fds[0]);
    RecordingBroker broker;
    LocalDocuments documents(board_settings(), std::make_unique<SqliteDocumentStore>(path), broker);
    for (std::uint64_t n = 1;; ++n) {
      auto outcome = change_and_wait(documents, "board.counter", merge(R"({"n":)" + std::to_string(n) + "}"));
      if (outcome.status != DocumentOutcome::Status::ok || ::write(pipe_fds[1], &n, sizeof n) != sizeof n)
        ::_exit(1);
    }
  }
  ::close(pipe_fds[1]);
  std::uint64_t acknowledged = 0;
  std::uint64_t n = 0;
  while (acknowledged < 200 && ::read(pipe_fds[0], &n, sizeof n) == sizeof n) acknowledged = n;
  ::kill(child, SIGKILL);
  while (::read(pipe_fds[0], &n, sizeof n) == sizeof n) acknowledged = n;  // those it wrote before dying
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(acknowledged, 200U);

  RecordingBroker broker;
  LocalDocuments documents(board_settings(), std::make_unique<SqliteDocumentStore>(path), broker);
  const auto snapshot = read_now(documents, "board.counter");
  // Every acknowledged change is there; at most the one in flight at the kill is too.
  EXPECT_GE(snapshot.revision, acknowledged);
  EXPECT_LE(snapshot.revision, acknowledged + 1);
  EXPECT_EQ(snapshot.data_json, R"({"n":)" + std::to_string(snapshot.revision) + "}");
  std::filesystem::remove_all(dir);
}
