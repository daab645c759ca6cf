// JetStreamDocuments, the reading side: GET, and where a subscriber starts (the
// snapshot, or the changes after its "since" from what this node's consumer kept or
// from the stream). The writing side and the consumer are in jetstream_documents.cpp.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "documents/jetstream_documents.hpp"
#include "protocol/document_messages.hpp"

namespace natsync {

void JetStreamDocuments::read(const std::string& topic, ReadDone done) {
  if (!gate_.ready() || stopping_) {
    done(std::nullopt);
    return;
  }
  boost::asio::post(pool_, [this, topic, done = std::move(done)] {
    // From the stream leader, so a read on any node sees every change acknowledged before it.
    auto last = read_last(topic);
    if (!last) return done(std::nullopt);
    DocumentSnapshot snapshot{last->document_json, last->revision, epoch()};
    learn(topic, std::move(*last));
    done(std::move(snapshot));
  });
}

void JetStreamDocuments::recover(const std::string& topic, const std::optional<StreamPosition>& since,
                                 RecoverDone done) {
  auto shared_done = std::make_shared<RecoverDone>(std::move(done));
  auto start = [this, topic, since, shared_done] {
    DocumentRecovery recovery;
    if (answer_from_known(topic, since, recovery) == Answer::done) return (*shared_done)(std::move(recovery));
    boost::asio::post(pool_, [this, topic, since, shared_done] { (*shared_done)(catch_up(topic, since)); });
  };
  const auto give_up = [shared_done] {
    DocumentRecovery recovery;
    recovery.available = false;
    (*shared_done)(std::move(recovery));
  };
  gate_.run_or_keep(std::move(start), give_up, ReadinessGate::Clock::now() + kPatience);
}

JetStreamDocuments::Answer JetStreamDocuments::answer_from_known(const std::string& topic,
                                                                 const std::optional<StreamPosition>& since,
                                                                 DocumentRecovery& out) {
  const auto epoch_now = epoch();
  const std::lock_guard lock(known_mutex_);
  const auto it = known_.find(topic);
  if (it == known_.end() || !it->second.loaded) return Answer::load;
  auto& known = it->second;
  out = DocumentRecovery{};
  if (since && since->epoch == epoch_now) {
    // From the changes the consumer delivered here, when they reach the latest known
    // revision (else some may never come this way: stored before the consumer started).
    if (known.dispatched == known.revision && known.recent.last() == known.revision) {
      if (auto frames = known.recent.after(since->offset, known.revision)) {
        out.recovered = true;
        out.position = StreamPosition{known.revision, epoch_now};
        out.frames = std::move(*frames);
        return Answer::done;
      }
    }
    if (since->offset == known.revision) {
      out.recovered = true;
      out.position = StreamPosition{known.revision, epoch_now};
      return Answer::done;
    }
    if (since->offset < known.revision) return Answer::walk;  // the stream may still hold them
    return Answer::ahead;                                     // seen on a node ahead of this one
  }
  out.position = StreamPosition{known.revision, epoch_now};
  if (!known.snapshot)
    known.snapshot = make_snapshot_frame(topic, known.document_json, known.revision, epoch_now);
  out.frames.push_back(known.snapshot);
  return Answer::done;
}

DocumentRecovery JetStreamDocuments::catch_up(const std::string& topic,
                                              const std::optional<StreamPosition>& since) {
  DocumentRecovery recovery;
  if (!load(topic)) {
    recovery.available = false;
    return recovery;
  }
  auto answer = answer_from_known(topic, since, recovery);
  if (answer == Answer::ahead) {
    // The client saw a revision this node has not: the stream leader may have it.
    if (auto last = read_last(topic)) learn(topic, std::move(*last));
    answer = answer_from_known(topic, since, recovery);
  }
  if (answer == Answer::walk) {
    if (auto frames = walk_back(topic, since->offset, recovery.position)) {
      recovery.recovered = true;
      recovery.frames = std::move(*frames);
      return recovery;
    }
  }
  if (answer != Answer::done) answer_from_known(topic, std::nullopt, recovery);  // the snapshot
  return recovery;
}

std::optional<std::vector<Frame>> JetStreamDocuments::walk_back(const std::string& topic, std::uint64_t since,
                                                                StreamPosition& position) {
  std::uint64_t revision = 0;
  std::uint64_t sequence = 0;
  {
    const std::lock_guard lock(known_mutex_);
    const auto& known = known_.at(topic);
    revision = known.revision;
    sequence = known.sequence;
  }
  if (revision <= since || revision - since > settings_.documents.changes_kept) return std::nullopt;
  const auto subject = subject_for(topic);
  std::vector<Frame> frames;
  std::size_t bytes = 0;
  JetStreamClient::StoredMessage message;
  for (std::uint64_t expected = revision; expected > since; --expected) {
    // The message at exactly `sequence` (the first at or after it must be it): gone
    // means the per-subject limit removed it.
    if (sequence == 0 ||
        client_.next_message(subject, sequence, kReadTimeout, message) != JetStreamClient::Lookup::found ||
        message.sequence != sequence)
      return std::nullopt;
    auto record = decode_document_record(message.data);
    if (!record || record->revision != expected) return std::nullopt;
    frames.push_back(
        make_patch_frame(topic, expected, DocumentChange{record->form, record->change, std::nullopt}));
    bytes += frames.back()->size();
    if (bytes > settings_.documents.max_bytes) return std::nullopt;  // the snapshot costs less
    sequence = record->previous_sequence;
  }
  std::reverse(frames.begin(), frames.end());
  position = StreamPosition{revision, epoch()};
  return frames;
}

}  // namespace natsync
