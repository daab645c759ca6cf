#include "documents/local_documents.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "documents/document_patch.hpp"
#include "hub/publication.hpp"
#include "protocol/document_messages.hpp"

namespace natsync {

LocalDocuments::LocalDocuments(DocumentSettings settings, std::unique_ptr<DocumentStore> store,
                               Broker& broker)
    : settings_(std::move(settings)), store_(std::move(store)), broker_(broker), epoch_(store_->epoch()) {
  shards_.reserve(kShards);
  for (std::size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
  committer_ = std::thread([this] { run_committer(); });
}

LocalDocuments::~LocalDocuments() {
  {
    const std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_one();
  committer_.join();
}

LocalDocuments::Shard& LocalDocuments::shard_for(std::string_view topic) {
  return *shards_[std::hash<std::string_view>{}(topic) % kShards];
}

LocalDocuments::State& LocalDocuments::state_of(Shard& shard, const std::string& topic) {
  auto found = shard.documents.find(topic);
  if (found != shard.documents.end()) return found->second;
  State state;
  if (auto row = store_->load(topic)) {  // throws when the store fails: nothing is cached
    state.committed_json = std::move(row->data_json);
    state.committed_revision = state.head_revision = row->revision;
  }
  state.head = nlohmann::json::parse(state.committed_json);
  return shard.documents.emplace(topic, std::move(state)).first->second;
}

std::size_t LocalDocuments::documents() const {
  std::size_t count = 0;
  for (const auto& shard : shards_) {
    const std::lock_guard lock(shard->mutex);
    count += shard->documents.size();
  }
  return count;
}

void LocalDocuments::read(const std::string& topic, ReadDone done) {
  std::optional<DocumentSnapshot> snapshot;
  try {
    auto& shard = shard_for(topic);
    const std::lock_guard lock(shard.mutex);
    const auto& state = state_of(shard, topic);
    snapshot = DocumentSnapshot{state.committed_json, state.committed_revision, epoch_};
  } catch (const std::exception&) {
    snapshot.reset();  // the store could not load it
  }
  done(std::move(snapshot));
}

void LocalDocuments::change(const std::string& topic, const DocumentChange& change, ChangeDone done) {
  DocumentOutcome refusal;
  {
    auto& shard = shard_for(topic);
    const std::lock_guard lock(shard.mutex);
    State* state = nullptr;
    try {
      state = &state_of(shard, topic);
    } catch (const std::exception& e) {
      refusal.status = DocumentOutcome::Status::unavailable;
      refusal.message = e.what();
    }
    if (state != nullptr && change.if_revision && *change.if_revision != state->head_revision) {
      refusal.status = DocumentOutcome::Status::revision_conflict;
      refusal.revision = state->head_revision;
      refusal.message = "the document is at revision " + std::to_string(state->head_revision) + ", not " +
                        std::to_string(*change.if_revision);
    } else if (state != nullptr) {
      auto applied = apply_change(state->head, change, settings_.max_bytes);
      if (auto* error = std::get_if<PatchError>(&applied)) {
        refusal.status = DocumentOutcome::Status::rejected;
        refusal.code = error->code;
        refusal.message = std::move(error->message);
        refusal.index = error->index;
        refusal.revision = state->head_revision;
      } else {
        auto& patched = std::get<PatchedDocument>(applied);
        state->head = std::move(patched.document);
        const auto revision = ++state->head_revision;
        // Queued under the shard's lock: a document's changes are queued in revision order.
        const std::lock_guard queue_lock(queue_mutex_);
        queue_.push_back(Pending{topic, revision, std::move(patched.text),
                                 make_patch_frame(topic, revision, change), std::move(done)});
        queue_ready_.notify_one();
        return;
      }
    }
  }
  done(refusal);
}

void LocalDocuments::recover(const std::string& topic, const std::optional<StreamPosition>& since,
                             RecoverDone done) {
  DocumentRecovery recovery;
  try {
    auto& shard = shard_for(topic);
    const std::lock_guard lock(shard.mutex);
    auto& state = state_of(shard, topic);
    recovery.position = StreamPosition{state.committed_revision, epoch_};
    if (since && since->epoch == epoch_) {
      // Recovered when every change after `since` is still kept (none: it is current).
      if (auto frames = state.recent.after(since->offset, state.committed_revision)) {
        recovery.recovered = true;
        recovery.frames = std::move(*frames);
      }
    }
    if (!recovery.recovered) {
      if (!state.snapshot)
        state.snapshot = make_snapshot_frame(topic, state.committed_json, state.committed_revision, epoch_);
      recovery.frames.push_back(state.snapshot);
    }
  } catch (const std::exception&) {
    recovery = DocumentRecovery{};
    recovery.available = false;
  }
  done(std::move(recovery));
}

void LocalDocuments::run_committer() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      batch.swap(queue_);
    }
    commit(batch);
    batch.clear();
  }
}

void LocalDocuments::commit(std::vector<Pending>& batch) {
  // Only the last revision of each document in the batch needs a row.
  std::vector<DocumentRow> rows;
  std::unordered_set<std::string_view> seen;
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    if (seen.insert(it->topic).second) rows.push_back(DocumentRow{it->topic, it->revision, it->data_json});
  }
  try {
    store_->save(rows);
  } catch (const std::exception& e) {
    refuse(batch, e.what());
    return;
  }
  for (auto& pending : batch) {
    {
      auto& shard = shard_for(pending.topic);
      const std::lock_guard lock(shard.mutex);
      auto& state = shard.documents.at(pending.topic);
      state.committed_json = std::move(pending.data_json);
      state.committed_revision = pending.revision;
      state.snapshot.reset();
      // At most HISTORY_SIZE changes and DOCUMENT_MAX_BYTES of them.
      state.recent.add(pending.revision, pending.patch, settings_.changes_kept, settings_.max_bytes);
    }
    const StreamPosition at{pending.revision, epoch_};
    // exact_only: a pattern subscription gets no document changes (they need the snapshot).
    broker_.publish(make_publication(Publication::Target::topic, pending.topic, pending.patch, 0, &at, true));
    DocumentOutcome outcome;
    outcome.revision = pending.revision;
    pending.done(outcome);
  }
}

void LocalDocuments::refuse(std::vector<Pending>& batch, const std::string& why) {
  // Every queued change was built on one that failed: refuse them all and set every
  // head back to what is committed, with every shard locked so that none is queued meanwhile.
  std::vector<std::unique_lock<std::mutex>> locks;
  for (auto& shard : shards_) locks.emplace_back(shard->mutex);
  {
    const std::lock_guard lock(queue_mutex_);
    std::move(queue_.begin(), queue_.end(), std::back_inserter(batch));
    queue_.clear();
  }
  for (auto& shard : shards_) {
    for (auto& [topic, state] : shard->documents) {
      if (state.head_revision == state.committed_revision) continue;
      state.head = nlohmann::json::parse(state.committed_json);
      state.head_revision = state.committed_revision;
    }
  }
  locks.clear();
  DocumentOutcome outcome;
  outcome.status = DocumentOutcome::Status::unavailable;
  outcome.message = "not stored: " + why;
  for (auto& pending : batch) pending.done(outcome);
}

}  // namespace natsync
