#include "history/history_store.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace natsync {

namespace {

// splitmix64: spreads consecutive counters over 64 bits.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

}  // namespace

HistoryStore::HistoryStore(HistorySettings settings)
    : settings_(std::move(settings)),
      epoch_seed_(std::random_device{}() * 0x100000001ULL ^ std::random_device{}()) {
  shards_.reserve(kShards);
  for (std::size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
}

bool is_durable(const HistorySettings& settings, std::string_view topic) {
  if (settings.size == 0) return false;
  return std::any_of(settings.durable_topics.begin(), settings.durable_topics.end(),
                     [topic](const TopicPattern& pattern) { return pattern.matches(topic); });
}

bool HistoryStore::durable(std::string_view topic) const { return is_durable(settings_, topic); }

HistoryStore::Shard& HistoryStore::shard_for(std::string_view topic) {
  return *shards_[std::hash<std::string_view>{}(topic) % kShards];
}

std::string HistoryStore::new_epoch() {
  std::uint64_t value = 0;
  {
    const std::lock_guard lock(epoch_mutex_);
    value = mix(epoch_seed_ + ++epoch_counter_);
  }
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(value));
  return {text.data(), 12};  // 48 bits: enough to tell two histories of one topic apart
}

void HistoryStore::trim(TopicHistory& history, Clock::time_point now) const {
  while (!history.entries.empty() &&
         (history.entries.size() > settings_.size || now - history.entries.front().time > settings_.ttl)) {
    if (!history.entries.front().idempotency_key.empty()) {
      history.offsets_by_key.erase(history.entries.front().idempotency_key);
    }
    history.entries.pop_front();
  }
}

HistoryStore::TopicHistory* HistoryStore::find(Shard& shard, std::string_view topic, Clock::time_point now) {
  const auto it = shard.topics.find(std::string(topic));
  if (it == shard.topics.end()) return nullptr;
  trim(it->second, now);
  return &it->second;
}

HistoryStore::Appended HistoryStore::append(
    std::string_view topic, Clock::time_point now, const std::function<Frame(const StreamPosition&)>& make,
    const std::function<void(const Frame&, const StreamPosition&)>& publish,
    std::string_view idempotency_key) {
  auto& shard = shard_for(topic);
  const std::lock_guard lock(shard.mutex);
  auto [it, created] = shard.topics.try_emplace(std::string(topic));
  auto& history = it->second;
  if (created) history.epoch = new_epoch();
  trim(history, now);
  if (!idempotency_key.empty()) {
    const auto seen = history.offsets_by_key.find(std::string(idempotency_key));
    if (seen != history.offsets_by_key.end()) return {{seen->second, history.epoch}, true};
  }
  StreamPosition position{history.last_offset + 1, history.epoch};
  auto frame = make(position);
  history.last_offset = position.offset;
  history.last_publish = now;
  history.entries.push_back(Entry{position.offset, now, frame, std::string(idempotency_key)});
  if (!idempotency_key.empty()) history.offsets_by_key.emplace(idempotency_key, position.offset);
  trim(history, now);
  publish(frame, position);
  return {std::move(position), false};
}

Recovery HistoryStore::recover(std::string_view topic, const StreamPosition& since, Clock::time_point now) {
  auto& shard = shard_for(topic);
  const std::lock_guard lock(shard.mutex);
  Recovery out;
  const auto* history = find(shard, topic, now);
  if (history == nullptr) {
    out.recovered = since.offset == 0;  // nothing was stored, so nothing was missed
    return out;
  }
  out.position = {history->last_offset, history->epoch};
  const bool same_epoch = since.offset == 0 || since.epoch == history->epoch;
  if (!same_epoch || since.offset > history->last_offset) return out;  // another history
  const std::uint64_t first_needed = since.offset + 1;
  if (first_needed <= history->last_offset) {
    // The missed messages must all still be here.
    if (history->entries.empty() || history->entries.front().offset > first_needed) return out;
    const auto skip = first_needed - history->entries.front().offset;
    out.frames.reserve(history->entries.size() - skip);
    for (auto it = history->entries.begin() + static_cast<std::ptrdiff_t>(skip); it != history->entries.end();
         ++it) {
      out.frames.push_back(it->frame);
    }
  }
  out.recovered = true;
  return out;
}

StreamPosition HistoryStore::position(std::string_view topic, Clock::time_point now) {
  auto& shard = shard_for(topic);
  const std::lock_guard lock(shard.mutex);
  const auto* history = find(shard, topic, now);
  if (history == nullptr) return {};
  return {history->last_offset, history->epoch};
}

HistoryPage HistoryStore::read(std::string_view topic, std::uint64_t after, std::size_t limit,
                               Clock::time_point now) {
  auto& shard = shard_for(topic);
  const std::lock_guard lock(shard.mutex);
  HistoryPage page;
  const auto* history = find(shard, topic, now);
  if (history == nullptr) return page;
  page.position = {history->last_offset, history->epoch};
  for (const auto& entry : history->entries) {
    if (page.frames.size() >= limit) break;
    if (entry.offset > after) page.frames.push_back(entry.frame);
  }
  return page;
}

std::size_t HistoryStore::expire(Clock::time_point now) {
  std::size_t left = 0;
  for (auto& shard : shards_) {
    const std::lock_guard lock(shard->mutex);
    for (auto it = shard->topics.begin(); it != shard->topics.end();) {
      trim(it->second, now);
      if (it->second.entries.empty()) {
        it = shard->topics.erase(it);
      } else {
        ++it;
        ++left;
      }
    }
  }
  return left;
}

std::size_t HistoryStore::messages() const {
  std::size_t count = 0;
  for (const auto& shard : shards_) {
    const std::lock_guard lock(shard->mutex);
    for (const auto& [topic, history] : shard->topics) count += history.entries.size();
  }
  return count;
}

}  // namespace natsync
