#include "documents/jetstream_documents.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cstdio>

#include "documents/document_patch.hpp"
#include "hub/publication.hpp"
#include "protocol/document_messages.hpp"
#include "protocol/topic.hpp"

namespace natsync {
namespace {

constexpr auto kSetupRetry = std::chrono::seconds(1);
constexpr int kStallLimit = 3;  // sweeps (seconds) without progress behind the stream
constexpr int kPendingMessages = 1'000'000;
constexpr int kPendingBytes = 512 * 1024 * 1024;
constexpr int kReadsForALoad = 4;  // a read that the consumer keeps overtaking is asked again
constexpr const char* kExpectedLastSubjectSequence = "Nats-Expected-Last-Subject-Sequence";

DocumentOutcome unavailable(std::string why) {
  DocumentOutcome outcome;
  outcome.status = DocumentOutcome::Status::unavailable;
  outcome.message = std::move(why);
  return outcome;
}

}  // namespace

std::string JetStreamDocuments::stream_name(std::string_view subject_prefix) {
  return natsync::stream_name(subject_prefix, "DOCUMENTS");
}

JetStreamDocuments::JetStreamDocuments(JetStreamDocumentSettings settings, const Hub& hub,
                                       spdlog::logger& log)
    : settings_(std::move(settings)),
      hub_(hub),
      log_(log),
      subject_prefix_(settings_.subject_prefix + ".doc."),
      client_(stream_name(settings_.subject_prefix), "documents", log) {}

JetStreamDocuments::~JetStreamDocuments() { stop(); }

void JetStreamDocuments::start() {
  client_.connect(settings_.servers, "natsync " + settings_.node_id + " documents", settings_.request_timeout,
                  &JetStreamDocuments::on_ack, this);
  boost::asio::post(pool_, [this] { set_up(); });
}

void JetStreamDocuments::set_up() {
  if (stopping_) return;
  // HISTORY_SIZE + 1 per subject: the last message is the document, the ones before it
  // the changes a catch-up may walk back through. No age limit: a document stays.
  const auto info = client_.ensure_stream(JetStreamClient::StreamSpec{
      subject_prefix_ + ">", settings_.replicas,
      static_cast<std::int64_t>(std::max<std::size_t>(settings_.documents.changes_kept, 1)) + 1,
      std::chrono::nanoseconds{}, std::chrono::nanoseconds{}});
  const auto epoch = info ? client_.settle_epoch(epoch_subject(), kReadTimeout) : std::nullopt;
  if (epoch) {
    {
      const std::lock_guard lock(epoch_mutex_);
      epoch_ = *epoch;
    }
    {
      const std::lock_guard lock(deliver_mutex_);
      dispatched_ = info->state.last;
    }
    dispatched_seen_ = info->state.last;
    if (subscribe_consumer()) {
      gate_.open();
      log_.info("documents in JetStream stream {} (epoch {}, {} replicas, last sequence {})",
                client_.stream(), *epoch, settings_.replicas, info->state.last);
      return;
    }
  }
  if (const auto expired = gate_.give_up_expired(ReadinessGate::Clock::now()); expired > 0) {
    log_.warn("{} document subscribes refused: JetStream did not answer this node within {} s", expired,
              kPatience.count());
  }
  retry_timer_.expires_after(kSetupRetry);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) set_up();
  });
}

bool JetStreamDocuments::subscribe_consumer() {
  // As JetStreamHistory's: the new consumer starts right after what was handed on, the
  // old one stops once the new one exists, and deliver() drops the repeats.
  const std::uint64_t first_sequence = dispatched_seen_ + 1;
  auto* consumer =
      client_.subscribe_ordered(subject_prefix_ + ">", first_sequence, &JetStreamDocuments::on_message, this,
                                kPendingMessages, kPendingBytes);
  if (consumer == nullptr) return false;
  const std::lock_guard lock(consumer_mutex_);
  if (consumer_ != nullptr) {
    natsSubscription_Unsubscribe(consumer_);
    natsSubscription_Destroy(consumer_);
  }
  consumer_ = consumer;
  return true;
}

void JetStreamDocuments::stop() {
  if (stopping_.exchange(true)) return;
  gate_.close();
  boost::asio::post(pool_, [this] { retry_timer_.cancel(); });
  pool_.join();
  {
    const std::lock_guard lock(consumer_mutex_);
    if (consumer_ != nullptr) {
      natsSubscription_Unsubscribe(consumer_);
      natsSubscription_Destroy(consumer_);
      consumer_ = nullptr;
    }
  }
  client_.finish_publishes(std::chrono::milliseconds(2000));  // so that the acks under way run
  client_.close();
  gate_.give_up_expired(ReadinessGate::Clock::time_point::max());
  // Whatever is left was never stored: its writers learn it.
  std::unordered_map<std::string, Writes> left;
  {
    const std::lock_guard lock(writes_mutex_);
    left.swap(writes_);
  }
  for (auto& [topic, writes] : left) {
    for (auto& pending : writes.queue) pending.done(unavailable("the node is stopping"));
  }
}

std::string JetStreamDocuments::epoch() const {
  const std::lock_guard lock(epoch_mutex_);
  return epoch_;
}

std::size_t JetStreamDocuments::documents() const {
  const std::lock_guard lock(known_mutex_);
  return static_cast<std::size_t>(
      std::count_if(known_.begin(), known_.end(), [](const auto& entry) { return entry.second.loaded; }));
}

// ---- what this node knows ----

std::optional<JetStreamDocuments::Known> JetStreamDocuments::read_last(const std::string& topic) {
  JetStreamClient::StoredMessage message;
  Known known;
  known.loaded = true;
  switch (client_.last_message(subject_for(topic), kReadTimeout, message)) {
    case JetStreamClient::Lookup::failed: return std::nullopt;
    case JetStreamClient::Lookup::none: return known;  // never changed: null at revision 0
    case JetStreamClient::Lookup::found: break;
  }
  auto record = decode_document_record(message.data);
  if (!record || !nlohmann::json::accept(record->document)) {
    log_.error("documents: the last message of {} (sequence {}) is not a document record", topic,
               message.sequence);
    return std::nullopt;
  }
  known.document_json = std::move(record->document);
  known.revision = record->revision;
  known.sequence = message.sequence;
  return known;
}

bool JetStreamDocuments::learn(const std::string& topic, Known&& learned) {
  const std::lock_guard lock(known_mutex_);
  auto& known = known_[topic];
  if (learned.revision > known.revision || (learned.revision == known.revision && !known.loaded)) {
    known.document_json = std::move(learned.document_json);
    known.revision = learned.revision;
    known.sequence = learned.sequence;
    known.parsed = std::move(learned.parsed);
    known.snapshot.reset();
    if (!known.loaded) {
      known.loaded = true;
      known.recent.clear();
    }
  }
  // Older than what the consumer handed on and this node never loaded: not usable.
  return known.loaded;
}

bool JetStreamDocuments::load(const std::string& topic) {
  for (int attempt = 0; attempt < kReadsForALoad; ++attempt) {
    {
      const std::lock_guard lock(known_mutex_);
      if (const auto it = known_.find(topic); it != known_.end() && it->second.loaded) return true;
    }
    auto last = read_last(topic);
    if (!last) return false;
    if (learn(topic, std::move(*last))) return true;
  }
  return false;
}

std::optional<JetStreamDocuments::Base> JetStreamDocuments::base_for(const std::string& topic,
                                                                     bool read_again) {
  if (read_again) {
    auto last = read_last(topic);
    if (!last) return std::nullopt;
    learn(topic, std::move(*last));
  }
  if (!load(topic)) return std::nullopt;
  std::string text;
  Base base;
  {
    const std::lock_guard lock(known_mutex_);
    const auto& known = known_.at(topic);
    base.revision = known.revision;
    base.sequence = known.sequence;
    base.document = known.parsed;
    if (!base.document) text = known.document_json;
  }
  if (!base.document) {
    auto parsed = std::make_shared<const nlohmann::json>(nlohmann::json::parse(text));
    const std::lock_guard lock(known_mutex_);
    auto& known = known_.at(topic);
    if (known.revision == base.revision && !known.parsed) known.parsed = parsed;
    base.document = std::move(parsed);
  }
  return base;
}

// ---- changes ----

void JetStreamDocuments::change(const std::string& topic, const DocumentChange& change, ChangeDone done) {
  if (!gate_.ready() || stopping_) {
    done(unavailable("JetStream has not answered this node yet"));
    return;
  }
  {
    const std::lock_guard lock(writes_mutex_);
    auto& writes = writes_[topic];
    writes.queue.push_back(PendingChange{change, std::move(done), 0});
    if (writes.busy) return;
    writes.busy = true;
  }
  boost::asio::post(pool_, [this, topic] { advance(topic); });
}

void JetStreamDocuments::finish(const std::string& topic, const DocumentOutcome& outcome) {
  ChangeDone done;
  {
    const std::lock_guard lock(writes_mutex_);
    const auto it = writes_.find(topic);
    if (it == writes_.end() || it->second.queue.empty()) return;  // stop() answered it
    done = std::move(it->second.queue.front().done);
    it->second.queue.pop_front();
  }
  done(outcome);
}

void JetStreamDocuments::advance(const std::string& topic) {
  for (;;) {
    const PendingChange* pending = nullptr;
    bool read_again = false;
    {
      const std::lock_guard lock(writes_mutex_);
      auto& writes = writes_.at(topic);
      if (writes.queue.empty() || stopping_) {
        writes.busy = false;
        if (!stopping_) writes_.erase(topic);
        return;
      }
      pending = &writes.queue.front();  // only this thread pops it; push_back keeps it in place
      read_again = writes.read_again;
      writes.read_again = false;
    }
    auto base = base_for(topic, read_again);
    if (!base) {
      finish(topic, unavailable("JetStream did not answer"));
      continue;
    }
    const auto& change = pending->change;
    if (change.if_revision && *change.if_revision != base->revision) {
      if (*change.if_revision > base->revision && !read_again) {
        // This node may only lag behind: ask the stream before answering a conflict.
        const std::lock_guard lock(writes_mutex_);
        writes_.at(topic).read_again = true;
        continue;
      }
      DocumentOutcome conflict;
      conflict.status = DocumentOutcome::Status::revision_conflict;
      conflict.revision = base->revision;
      conflict.message = "the document is at revision " + std::to_string(base->revision) + ", not " +
                         std::to_string(*change.if_revision);
      finish(topic, conflict);
      continue;
    }
    auto applied = apply_change(*base->document, change, settings_.documents.max_bytes);
    if (auto* error = std::get_if<PatchError>(&applied)) {
      if (!read_again) {
        // It may apply to a change acknowledged on another node that this node's consumer
        // has not delivered yet: refuse only what fails on the stream's last message.
        const std::lock_guard lock(writes_mutex_);
        writes_.at(topic).read_again = true;
        continue;
      }
      DocumentOutcome refusal;
      refusal.status = DocumentOutcome::Status::rejected;
      refusal.code = error->code;
      refusal.message = std::move(error->message);
      refusal.index = error->index;
      refusal.revision = base->revision;
      finish(topic, refusal);
      continue;
    }
    auto& patched = std::get<PatchedDocument>(applied);
    DocumentRecord record{base->revision + 1, base->sequence, change.form, change.body,
                          std::move(patched.text)};
    if (send(topic, std::move(record), std::make_shared<const nlohmann::json>(std::move(patched.document))))
      return;
  }
}

bool JetStreamDocuments::send(const std::string& topic, DocumentRecord record,
                              std::shared_ptr<const nlohmann::json> document) {
  const auto bytes = encode_document_record(record);
  const auto subject = subject_for(topic);
  // The record holds the change and the whole document: both must fit one NATS message.
  const auto limit = client_.max_payload() - 256;  // room for the subject and the header
  if (static_cast<std::int64_t>(bytes.size()) > limit) {
    DocumentOutcome refusal;
    refusal.status = DocumentOutcome::Status::rejected;
    refusal.code = ErrorCode::document_too_large;
    refusal.message = "the change and the document would be " + std::to_string(bytes.size()) +
                      " bytes, over what the NATS server takes in one message (" + std::to_string(limit) +
                      ")";
    refusal.revision = record.revision - 1;
    finish(topic, refusal);
    return false;
  }
  natsMsg* message = nullptr;
  if (natsMsg_Create(&message, subject.c_str(), nullptr, bytes.data(), static_cast<int>(bytes.size())) !=
      NATS_OK) {
    finish(topic, unavailable("out of memory"));
    return false;
  }
  // The compare-and-set: stored only if the subject's last message is still the one this
  // change was built on (0: it has none).
  natsMsgHeader_Set(message, kExpectedLastSubjectSequence, std::to_string(record.previous_sequence).c_str());
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = settings_.request_timeout.count();
  // And one id per revision: nats-server before 2.9.21 checks the expected sequence of a
  // replicated stream before its consensus, so two writers in flight at once could both
  // pass (nats-server#4320); its duplicate check is made by the stream leader when it
  // proposes, so the second writer of a revision is answered "duplicate" instead.
  const auto message_id = topic + "@" + std::to_string(record.revision);
  options.MsgId = message_id.c_str();
  {
    const std::lock_guard lock(in_flight_mutex_);
    in_flight_.emplace(message, InFlight{topic, std::move(record), std::move(document)});
  }
  natsMsg* sent = message;
  if (client_.publish(&sent, options) != NATS_OK) {
    {
      const std::lock_guard lock(in_flight_mutex_);
      in_flight_.erase(message);
    }
    natsMsg_Destroy(sent);  // null when the library kept it
    finish(topic, unavailable("JetStream did not take the change"));
    return false;
  }
  return true;  // on_ack goes on
}

void JetStreamDocuments::on_ack(jsCtx* /*js*/, natsMsg* message, jsPubAck* ack, jsPubAckErr* error,
                                void* closure) {
  auto* self = static_cast<JetStreamDocuments*>(closure);
  InFlight sent;
  {
    const std::lock_guard lock(self->in_flight_mutex_);
    const auto it = self->in_flight_.find(message);
    if (it == self->in_flight_.end()) {
      natsMsg_Destroy(message);
      return;
    }
    sent = std::move(it->second);
    self->in_flight_.erase(it);
  }
  natsMsg_Destroy(message);
  if (ack != nullptr && !ack->Duplicate) {
    Known known;
    known.revision = sent.record.revision;
    known.sequence = ack->Sequence;
    known.document_json = std::move(sent.record.document);
    known.parsed = std::move(sent.parsed);
    self->learn(sent.topic, std::move(known));
    DocumentOutcome outcome;
    outcome.revision = sent.record.revision;
    self->finish(sent.topic, outcome);
  } else {
    // Another writer stored this revision first: "wrong last sequence", or a duplicate
    // of its message id.
    const bool lost_race =
        ack != nullptr || (error != nullptr && error->ErrCode == JSStreamWrongLastSequenceErr);
    bool give_up = !lost_race;
    {
      const std::lock_guard lock(self->writes_mutex_);
      const auto it = self->writes_.find(sent.topic);
      if (it == self->writes_.end() || it->second.queue.empty()) return;  // stop() answered it
      it->second.read_again = true;  // another node wrote first, or the outcome is unknown
      if (lost_race && ++it->second.queue.front().attempts >= kMaxAttempts) give_up = true;
    }
    if (give_up) {
      const std::string why =
          lost_race ? "lost " + std::to_string(kMaxAttempts) + " races to other writers"
                    : std::string("JetStream did not store it: ") +
                          (error != nullptr && error->ErrText != nullptr ? error->ErrText : "no answer");
      self->log_.warn("documents: a change of {} was not stored ({})", sent.topic, why);
      self->finish(sent.topic, unavailable(why));
    }
  }
  if (!self->stopping_)
    boost::asio::post(self->pool_, [self, topic = std::move(sent.topic)] { self->advance(topic); });
}

// ---- the consumer ----

void JetStreamDocuments::on_message(natsConnection* /*connection*/, natsSubscription* /*subscription*/,
                                    natsMsg* message, void* closure) {
  auto* self = static_cast<JetStreamDocuments*>(closure);
  if (!self->stopping_) self->deliver(message);
  natsMsg_Destroy(message);
}

void JetStreamDocuments::deliver(natsMsg* message) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, message) != NATS_OK) return;
  const std::uint64_t sequence = meta->Sequence.Stream;
  jsMsgMetaData_Destroy(meta);
  const std::lock_guard delivering(deliver_mutex_);
  if (sequence <= dispatched_) return;  // a recreated consumer may start a little early
  dispatched_ = sequence;
  dispatched_seen_ = sequence;

  const std::string_view subject = natsMsg_GetSubject(message);
  const std::string_view body(natsMsg_GetData(message),
                              static_cast<std::size_t>(natsMsg_GetDataLength(message)));
  if (subject == epoch_subject()) return;  // the epoch's marker
  const auto topic = subject.substr(std::min(subject.size(), subject_prefix_.size()));
  auto record = decode_document_record(body);
  if (!subject.starts_with(subject_prefix_) || !is_valid_topic(topic) || !record ||
      !parser_.is_json(record->change) || !parser_.is_json(record->document)) {
    // Someone published into the stream's subjects directly: clients never see it.
    log_.warn("documents: dropped message {} on {}: not a document record", sequence, subject);
    return;
  }
  const std::string name(topic);
  auto frame =
      make_patch_frame(name, record->revision, DocumentChange{record->form, record->change, std::nullopt});
  {
    // Known before the hub gets it: a subscriber that reads an older revision is in the
    // hub before this change reaches any worker.
    const std::lock_guard lock(known_mutex_);
    auto& known = known_[name];
    if (record->revision > known.revision) {
      known.revision = record->revision;
      known.sequence = sequence;
      if (known.loaded) {
        known.document_json = std::move(record->document);
        known.parsed.reset();
        known.snapshot.reset();
      }
    }
    if (record->revision > known.dispatched) {
      known.dispatched = record->revision;
      if (known.loaded)
        known.recent.add(record->revision, frame, settings_.documents.changes_kept,
                         settings_.documents.max_bytes);
    }
  }
  const StreamPosition at{record->revision, epoch()};
  // exact_only: a pattern subscription gets no document changes (they need the snapshot).
  hub_.dispatch(make_publication(Publication::Target::topic, name, std::move(frame), 0, &at, true));
}

void JetStreamDocuments::sweep() {
  // As JetStreamHistory::sweep: a consumer that makes no progress behind the stream for
  // kStallLimit sweeps is lost (its server died unnoticed) and made again.
  if (!gate_.ready() || sweeping_.exchange(true)) return;
  boost::asio::post(pool_, [this] {
    const auto state = client_.stream_state(kReadTimeout);
    const std::uint64_t dispatched = dispatched_seen_;
    if (state && state->last > dispatched && dispatched == last_swept_) {
      if (++stalled_sweeps_ >= kStallLimit) {
        log_.warn("JetStream: the documents consumer stalled at sequence {} (stream at {}): recreating it",
                  dispatched, state->last);
        if (subscribe_consumer()) stalled_sweeps_ = 0;
      }
    } else {
      stalled_sweeps_ = 0;
    }
    last_swept_ = dispatched;
    sweeping_ = false;
  });
}

}  // namespace natsync
