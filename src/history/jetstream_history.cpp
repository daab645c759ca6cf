#include "history/jetstream_history.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "protocol/server_message.hpp"
#include "protocol/topic.hpp"

namespace natsync {
namespace {

constexpr const char* kExcludeHeader = "Natsync-Exclude";  // "<node id> <connection id>" of a sync's sender
constexpr auto kSetupRetry = std::chrono::seconds(1);
constexpr auto kSampleEvery = std::chrono::milliseconds(100);
// How long a recovery keeps asking JetStream (leader elections take seconds), and how
// long one read waits.
constexpr auto kRecoveryPatience = std::chrono::seconds(30);
constexpr auto kReadTimeout = std::chrono::milliseconds(2000);
constexpr int kStallLimit = 3;  // sweeps (seconds) without progress behind the stream
constexpr int kPendingMessages = 1'000'000;
constexpr int kPendingBytes = 512 * 1024 * 1024;

std::int64_t nanoseconds(std::chrono::nanoseconds duration) { return duration.count(); }

std::int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string JetStreamHistory::stream_name(std::string_view subject_prefix) {
  return natsync::stream_name(subject_prefix, "HISTORY");
}

JetStreamHistory::JetStreamHistory(JetStreamSettings settings, const Hub& hub, spdlog::logger& log)
    : settings_(std::move(settings)),
      hub_(hub),
      log_(log),
      subject_prefix_(settings_.subject_prefix + ".d."),
      client_(stream_name(settings_.subject_prefix), "history", log) {}

JetStreamHistory::~JetStreamHistory() { stop(); }

void JetStreamHistory::start() {
  client_.connect(settings_.servers, "natsync " + settings_.node_id + " history", settings_.request_timeout,
                  &JetStreamHistory::on_ack, this);
  boost::asio::post(pool_, [this] { set_up(); });
}

void JetStreamHistory::set_up() {
  if (stopping_) return;
  if (!ensure_stream()) {
    give_up_waiting(std::chrono::steady_clock::now());
    retry_timer_.expires_after(kSetupRetry);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) set_up();
    });
  }
}

bool JetStreamHistory::ensure_stream() {
  const auto& history = settings_.history;
  // One more than HISTORY_SIZE per topic: while a topic's oldest kept message is
  // `since`, the HISTORY_SIZE after it are all there (the recovery check in fetch_recovery).
  const auto info = client_.ensure_stream(
      JetStreamClient::StreamSpec{subject_prefix_ + ">", settings_.replicas,
                                  static_cast<std::int64_t>(history.size) + 1, history.ttl, history.ttl});
  if (!info) return false;
  const auto epoch = client_.settle_epoch(epoch_subject(), kReadTimeout);
  if (!epoch) return false;
  const std::uint64_t last = info->state.last;
  messages_ = info->state.messages;
  {
    const std::lock_guard lock(epoch_mutex_);
    epoch_ = *epoch;
  }
  dispatched_ = last;

  if (!subscribe_consumer()) return false;
  std::vector<Waiting> waiting;
  {
    const std::lock_guard lock(waiting_mutex_);
    ready_ = true;
    waiting.swap(waiting_);
  }
  for (auto& recovery : waiting) recovery.start();
  log_.info("history in JetStream stream {} (epoch {}, {} replicas, last sequence {})", client_.stream(),
            *epoch, settings_.replicas, last);
  return true;
}

bool JetStreamHistory::subscribe_consumer() {
  // One ordered consumer for this node: nats.c recreates it from the last sequence it
  // delivered when it detects a gap; sweep() recreates it when it stalls. The new one
  // starts right after what was delivered, and the old one stops only once the new one
  // exists (if it cannot be made, the old one may still come back). Both may deliver
  // for a moment: deliver() takes them one at a time and drops the repeats.
  const std::uint64_t first_sequence = dispatched_ + 1;
  auto* consumer =
      client_.subscribe_ordered(subject_prefix_ + ">", first_sequence, &JetStreamHistory::on_message, this,
                                kPendingMessages, kPendingBytes);
  if (consumer == nullptr) return false;
  log_.debug("JetStream: history consumer delivers from sequence {}", first_sequence);
  const std::lock_guard lock(consumer_mutex_);
  if (consumer_ != nullptr) {
    natsSubscription_Unsubscribe(consumer_);
    natsSubscription_Destroy(consumer_);
  }
  consumer_ = consumer;
  return true;
}

void JetStreamHistory::stop() {
  if (stopping_.exchange(true)) return;
  ready_ = false;
  boost::asio::post(pool_, [this] { retry_timer_.cancel(); });
  pool_.join();
  recovery_pool_.join();  // recoveries see stopping_ and answer at their next request
  {
    const std::lock_guard lock(consumer_mutex_);
    if (consumer_ != nullptr) {
      natsSubscription_Unsubscribe(consumer_);
      natsSubscription_Destroy(consumer_);
      consumer_ = nullptr;
    }
  }
  client_.finish_publishes(std::chrono::milliseconds(2000));  // so that every `done` runs
  client_.close();
  give_up_waiting(std::chrono::steady_clock::time_point::max());
  {
    // Publishes whose ack never came (closed meanwhile): their callers learn it.
    std::unordered_map<natsMsg*, PublishDone> left;
    {
      const std::lock_guard lock(pending_mutex_);
      left.swap(pending_);
    }
    for (auto& [message, done] : left) done(Stored{});
  }
}

std::string JetStreamHistory::epoch() const {
  const std::lock_guard lock(epoch_mutex_);
  return epoch_;
}

void JetStreamHistory::publish(const std::string& topic, std::string_view data_json,
                               std::uint64_t exclude_connection, std::string_view idempotency_key,
                               PublishDone done) {
  if (!ready_) {
    done(Stored{});
    return;
  }
  natsMsg* message = nullptr;
  const auto subject = subject_for(topic);
  if (natsMsg_Create(&message, subject.c_str(), nullptr, data_json.data(),
                     static_cast<int>(data_json.size())) != NATS_OK) {
    done(Stored{});
    return;
  }
  if (exclude_connection != 0) {
    const auto sender = settings_.node_id + " " + std::to_string(exclude_connection);
    natsMsgHeader_Set(message, kExcludeHeader, sender.c_str());
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = settings_.request_timeout.count();
  // Keys are per topic; hex keeps any bytes out of the header.
  const auto message_id = idempotency_key.empty() ? std::string() : topic + " " + hex(idempotency_key);
  if (!message_id.empty()) options.MsgId = message_id.c_str();
  {
    const std::lock_guard lock(pending_mutex_);
    pending_.emplace(message, std::move(done));
  }
  natsMsg* sent = message;
  if (client_.publish(&sent, options) != NATS_OK) {
    auto failed = take_pending(message);
    natsMsg_Destroy(sent);  // null when the library kept it
    if (failed) failed(Stored{});
  }
}

JetStreamHistory::PublishDone JetStreamHistory::take_pending(natsMsg* message) {
  const std::lock_guard lock(pending_mutex_);
  const auto it = pending_.find(message);
  if (it == pending_.end()) return {};
  auto done = std::move(it->second);
  pending_.erase(it);
  return done;
}

void JetStreamHistory::on_ack(jsCtx* /*js*/, natsMsg* message, jsPubAck* ack, jsPubAckErr* error,
                              void* closure) {
  auto* self = static_cast<JetStreamHistory*>(closure);
  auto done = self->take_pending(message);
  Stored stored;
  if (ack != nullptr) {
    stored.ok = true;
    stored.position = StreamPosition{ack->Sequence, self->epoch()};
    stored.duplicate = ack->Duplicate;
  } else if (error != nullptr) {
    self->log_.warn("JetStream refused a durable publish on {}: {} ({})", natsMsg_GetSubject(message),
                    natsStatus_GetText(error->Err), error->ErrText ? error->ErrText : "");
  }
  natsMsg_Destroy(message);
  if (done) done(stored);
}

void JetStreamHistory::on_message(natsConnection* /*connection*/, natsSubscription* /*subscription*/,
                                  natsMsg* message, void* closure) {
  auto* self = static_cast<JetStreamHistory*>(closure);
  if (!self->stopping_) self->deliver(message);
  natsMsg_Destroy(message);
}

void JetStreamHistory::deliver(natsMsg* message) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, message) != NATS_OK) return;
  const std::uint64_t sequence = meta->Sequence.Stream;
  const std::int64_t stored_at = meta->Timestamp;
  jsMsgMetaData_Destroy(meta);
  // One delivery at a time, whichever nats.c thread calls (an old and a new consumer
  // may overlap while sweep() replaces one): the check and the count below are one step.
  const std::lock_guard delivering(deliver_mutex_);
  // The stream's order is the delivery order: anything not after the last one handed on
  // is a repeat (an ordered consumer that was recreated may start a little early).
  if (sequence <= dispatched_) {
    if (repeats_.fetch_add(1) % 1000 == 0) {
      log_.info("JetStream: dropped a repeated message ({} so far) of sequence {} (last delivered {})",
                repeats_.load(), sequence, dispatched_.load());
    }
    return;
  }
  if (dispatched_ != 0 && sequence != dispatched_ + 1) {
    // Every sequence of the stream is ours, so a jump means messages removed before
    // this node delivered them (HISTORY_SIZE/HISTORY_TTL on a consumer far behind), or
    // a consumer that started past what was delivered: worth knowing either way.
    log_.warn("JetStream: the history consumer jumped from sequence {} to {}", dispatched_.load(), sequence);
  }
  {
    const std::lock_guard sampling(samples_mutex_);
    if (samples_.empty() || stored_at - samples_.back().second >= nanoseconds(kSampleEvery)) {
      samples_.emplace_back(sequence, stored_at);
      const auto keep = nanoseconds(settings_.history.ttl) + nanoseconds(std::chrono::minutes(1));
      while (samples_.size() > 1 && stored_at - samples_.front().second > keep) samples_.pop_front();
    }
  }

  const std::string_view subject = natsMsg_GetSubject(message);
  const std::string_view body(natsMsg_GetData(message),
                              static_cast<std::size_t>(natsMsg_GetDataLength(message)));
  const auto topic = subject.substr(std::min(subject.size(), subject_prefix_.size()));
  if (subject == epoch_subject()) {  // the epoch's marker, stored again by a node
    dispatched_ = sequence;
    return;
  }
  const bool valid = subject.starts_with(subject_prefix_) && is_valid_topic(topic) && parser_.is_json(body);
  // Counted before the hub gets it: a subscriber that reads a smaller number is in the
  // hub before this message reaches any worker. (Counted after, a worker could deliver
  // it before the subscriber joined while the subscriber still read the number before
  // it, and so be promised a message it never gets.)
  dispatched_ = sequence;
  if (valid) {
    const StreamPosition at{sequence, epoch()};
    std::uint64_t exclude_connection = 0;
    const char* sender = nullptr;
    if (natsMsgHeader_Get(message, kExcludeHeader, &sender) == NATS_OK && sender != nullptr) {
      const std::string_view value(sender);
      const auto space = value.rfind(' ');
      if (space != std::string_view::npos && value.substr(0, space) == settings_.node_id) {
        exclude_connection = std::strtoull(std::string(value.substr(space + 1)).c_str(), nullptr, 10);
      }
    }
    hub_.dispatch(make_publication(Publication::Target::topic, std::string(topic),
                                   make_topic_data_frame(topic, body, &at), exclude_connection, &at));
  } else {
    // Someone published into the stream's subjects directly: clients never see it.
    log_.warn("JetStream: dropped message {} on {}: not a topic with one JSON value", sequence, subject);
  }
}

void JetStreamHistory::recover(const std::string& topic, const std::optional<StreamPosition>& since,
                               RecoverDone done) {
  auto shared_done = std::make_shared<RecoverDone>(std::move(done));
  auto start = [this, topic, since, shared_done] {
    // The subscriber is in the hub already, and every message after `dispatched` is
    // handed to the hub after this read (deliver() counts a message before handing it
    // on): all of them reach it live.
    const std::uint64_t dispatched = dispatched_;
    if (!since) {
      (*shared_done)(Recovery{false, StreamPosition{dispatched, epoch()}, {}});
      return;
    }
    boost::asio::post(recovery_pool_,
                      [this, topic, since = *since, dispatched, epoch = epoch(), shared_done] {
                        (*shared_done)(fetch_recovery(topic, since, dispatched, epoch));
                      });
  };
  {
    const std::lock_guard lock(waiting_mutex_);
    if (!ready_) {
      // JetStream has not answered this node yet (it just started, or the cluster is
      // electing): its consumer will start after the stream's last sequence *then*, so
      // no position can be promised before that, with or without "since" (answering
      // one now is how a fresh cluster skipped acknowledged messages: issue 15). Wait.
      waiting_.push_back(Waiting{std::move(start), [shared_done] { (*shared_done)(Recovery::unavailable()); },
                                 std::chrono::steady_clock::now() + kRecoveryPatience});
      log_.debug("subscribe to {} waits for JetStream ({} waiting)", topic, waiting_.size());
      return;
    }
  }
  start();
}

void JetStreamHistory::give_up_waiting(std::chrono::steady_clock::time_point now) {
  std::vector<Waiting> expired;
  {
    const std::lock_guard lock(waiting_mutex_);
    auto keep = std::partition(waiting_.begin(), waiting_.end(),
                               [now](const Waiting& waiting) { return waiting.deadline > now; });
    std::move(keep, waiting_.end(), std::back_inserter(expired));
    waiting_.erase(keep, waiting_.end());
  }
  if (!expired.empty()) {
    log_.warn("{} subscribes refused (broker_unavailable): JetStream did not answer this node within {} s",
              expired.size(), std::chrono::duration_cast<std::chrono::seconds>(kRecoveryPatience).count());
  }
  for (auto& recovery : expired) recovery.give_up();
}

Recovery JetStreamHistory::fetch_recovery(const std::string& topic, const StreamPosition& since,
                                          std::uint64_t dispatched, const std::string& epoch) {
  Recovery recovery;
  recovery.position = StreamPosition{dispatched, epoch};
  // While JetStream elects a new leader (a server died) its requests fail for a few
  // seconds: keep asking, up to kRecoveryPatience, before answering recovered:false.
  const auto give_up = std::chrono::steady_clock::now() + kRecoveryPatience;
  const auto patiently = [&](auto request) {
    auto pause = std::chrono::milliseconds(50);
    for (;;) {
      auto result = request();
      if (result.has_value() || stopping_ || std::chrono::steady_clock::now() + pause > give_up)
        return result;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
  };
  const auto state_now = [&] { return patiently([&] { return stream_state(); }); };
  const auto fetch_patiently = [&](const std::string& subject, std::uint64_t from,
                                   JetStreamClient::StoredMessage& out) {
    const auto found = patiently([&]() -> std::optional<Lookup> {
      const auto lookup = client_.next_message(subject, from, kReadTimeout, out);
      return lookup == Lookup::failed ? std::nullopt : std::optional(lookup);
    });
    return found.value_or(Lookup::failed);
  };
  const auto unanswered = [&] {
    log_.warn("recovery of {} since {}: JetStream did not answer within {} s; answered recovered:false",
              topic, since.offset,
              std::chrono::duration_cast<std::chrono::seconds>(kRecoveryPatience).count());
    return recovery;
  };
  const std::uint64_t after = since.offset;
  if (after != 0 && since.epoch != epoch) return recovery;  // another stream: its offsets mean nothing here
  if (after >= dispatched) {
    // Nothing of it delivered here yet; the client may have seen it on a node ahead of
    // this one. Fine if the stream has got that far.
    if (after > dispatched) {
      auto state = state_now();
      if (!state) return unanswered();
      if (after > state->last) return recovery;
      recovery.position.offset = after;
    }
    recovery.recovered = true;
    return recovery;
  }
  // Every message of the topic after `since`: those up to `dispatched` are replayed, the
  // later ones come live but are counted, because the per-topic limit may have removed
  // older ones for them.
  const auto size = settings_.history.size;
  std::vector<Frame> frames;
  std::size_t count = 0;
  MessageParser parser;
  const bool answered =
      read_range(topic, after, fetch_patiently, [&](const JetStreamClient::StoredMessage& message) {
        ++count;
        if (message.sequence <= dispatched && parser.is_json(message.data)) {
          const StreamPosition at{message.sequence, epoch};
          frames.push_back(make_topic_data_frame(topic, message.data, &at));
        }
        return count <= size;
      });
  if (!answered) return unanswered();
  if (count > size) return recovery;
  const auto state = state_now();
  if (!state) return unanswered();
  if (after + 1 < state->first && !stored_within_ttl(after)) return recovery;
  recovery.recovered = true;
  recovery.frames = std::move(frames);
  return recovery;
}

bool JetStreamHistory::stored_within_ttl(std::uint64_t sequence) const {
  if (sequence == 0) return false;
  std::int64_t stored_at = 0;
  {
    const std::lock_guard lock(samples_mutex_);
    // The last sample at or before `sequence`: stored no later than it.
    auto it = std::upper_bound(samples_.begin(), samples_.end(), sequence,
                               [](std::uint64_t s, const auto& sample) { return s < sample.first; });
    if (it == samples_.begin()) return false;  // before this node's record
    stored_at = std::prev(it)->second;
  }
  // A margin for the clocks of this machine and the NATS servers.
  const auto ttl = nanoseconds(settings_.history.ttl);
  const auto margin = std::max(nanoseconds(std::chrono::seconds(1)), ttl / 20);
  return stored_at >= wall_now_ns() - ttl + margin;
}

bool JetStreamHistory::read_range(const std::string& topic, std::uint64_t after, const Fetch& fetch,
                                  const std::function<bool(const JetStreamClient::StoredMessage&)>& visit) {
  const auto subject = subject_for(topic);
  JetStreamClient::StoredMessage message;
  for (std::uint64_t from = after + 1;; from = message.sequence + 1) {
    const auto found = fetch(subject, from, message);
    if (found == Lookup::failed) return false;
    if (found == Lookup::none || !visit(message)) return true;
  }
}

void JetStreamHistory::read(const std::string& topic, std::uint64_t after, std::size_t limit, ReadDone done) {
  if (!ready_) {
    done(std::nullopt);
    return;
  }
  boost::asio::post(pool_, [this, topic, after, limit, done = std::move(done)] {
    HistoryPage page;
    page.position = StreamPosition{dispatched_, epoch()};
    MessageParser parser;
    const auto fetch = [this](const std::string& subject, std::uint64_t from,
                              JetStreamClient::StoredMessage& out) {
      return client_.next_message(subject, from, kReadTimeout, out);
    };
    const bool answered =
        limit == 0 || read_range(topic, after, fetch, [&](const JetStreamClient::StoredMessage& message) {
          if (parser.is_json(message.data)) {
            const StreamPosition at{message.sequence, page.position.epoch};
            page.frames.push_back(make_topic_data_frame(topic, message.data, &at));
            page.position.offset = std::max(page.position.offset, message.sequence);
          }
          return page.frames.size() < limit;
        });
    if (!answered) return done(std::nullopt);
    done(std::move(page));
  });
}

std::optional<JetStreamClient::StreamState> JetStreamHistory::stream_state() {
  auto state = client_.stream_state(kReadTimeout);  // short, so that a recovery asks again soon
  if (state) messages_ = state->messages;
  return state;
}

void JetStreamHistory::sweep() {
  // Once a second, one request at a time: refreshes the message count for the status,
  // and watches the consumer. If the stream has messages this node has not delivered
  // and none arrived for kStallLimit sweeps, the consumer is lost (its server died
  // without nats.c noticing): a new one starts after the last delivered sequence, so
  // nothing is skipped and nothing repeated.
  if (!ready_ || state_refreshing_.exchange(true)) return;
  boost::asio::post(pool_, [this] {
    // The epoch's marker ages out like every message (HISTORY_TTL): stored again well
    // before, so the stream keeps one while any node runs.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_epoch_renewal_ >= settings_.history.ttl / 3 &&
        client_.renew_epoch(epoch_subject(), epoch(), kReadTimeout))
      last_epoch_renewal_ = now;
    const auto state = stream_state();
    if (state) stream_last_ = state->last;
    const std::uint64_t dispatched = dispatched_;
    if (state && state->last > dispatched && dispatched == last_swept_dispatched_) {
      if (++stalled_sweeps_ >= kStallLimit) {
        log_.warn("JetStream: the history consumer stalled at sequence {} (stream at {}): recreating it",
                  dispatched, state->last);
        if (subscribe_consumer()) stalled_sweeps_ = 0;
      }
    } else {
      stalled_sweeps_ = 0;
    }
    last_swept_dispatched_ = dispatched;
    state_refreshing_ = false;
  });
}

}  // namespace natsync
