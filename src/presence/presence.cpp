#include "presence/presence.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>

#include "hub/publication.hpp"
#include "protocol/topic.hpp"

namespace natsync {
namespace {

constexpr auto kSweepPeriod = std::chrono::milliseconds(250);
constexpr auto kAskAgainAfter = std::chrono::seconds(1);
const std::string kChannel = "presence";
const std::string kSyncChannel = "presence_sync";

std::string random_instance() {
  std::random_device random;
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) out.push_back(digits[random() % 16]);
  return out;
}

// A node message: one JSON object, or null (from any NATS client: anything else is dropped).
const boost::json::object* parse_object(std::string_view body, boost::json::value& storage) {
  boost::system::error_code ec;
  storage = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
  return ec ? nullptr : storage.if_object();
}

const boost::json::string* string_at(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

// [topic, client, user] (a full state's member) or ["j"|"l", topic, client, user] (an
// event), from any NATS client: anything else is skipped.
bool read_member(const boost::json::value& value, std::size_t first, PresenceEvent& out) {
  const auto* items = value.if_array();
  if (items == nullptr || items->size() != first + 3) return false;
  for (const auto& item : *items) {
    if (!item.is_string()) return false;
  }
  const auto& topic = (*items)[first].get_string();
  const auto& client = (*items)[first + 1].get_string();
  const auto& user = (*items)[first + 2].get_string();
  if (!is_valid_topic(topic) || client.empty() || client.size() > 256 || user.size() > 256) return false;
  out.topic.assign(topic.data(), topic.size());
  out.member.client_id.assign(client.data(), client.size());
  out.member.user_id.assign(user.data(), user.size());
  return true;
}

}  // namespace

Presence::Presence(PresenceSettings settings, Broker& broker, const Hub& hub, spdlog::logger& log)
    : settings_(std::move(settings)),
      broker_(broker),
      hub_(hub),
      log_(log),
      instance_(random_instance()),
      work_(io_context_.get_executor()),
      timer_(io_context_) {
  broker_.on_node_message(kChannel, [this](std::string_view body) { on_message(body); });
  broker_.on_node_message(kSyncChannel, [this](std::string_view body) { on_sync_request(body); });
  broker_.on_joined_cluster([this] {
    // What the others know of this node may be stale (it was away), and it knows
    // nothing of theirs yet: its full state to them, theirs to it.
    {
      std::lock_guard lock(mutex_);
      send_full_state_locked();
    }
    ask_full_state("*");
  });
}

Presence::~Presence() { stop(); }

void Presence::start() {
  if (started_) return;
  started_ = true;
  schedule_tick();
  thread_ = std::thread([this] { io_context_.run(); });
}

void Presence::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  if (broker_.clustered()) {
    std::lock_guard lock(mutex_);
    boost::json::object bye{{"node", settings_.node_id}, {"instance", instance_}, {"bye", true}};
    broker_.send_to_nodes(kChannel, boost::json::serialize(bye));
  }
  boost::asio::post(io_context_, [this] {
    timer_.cancel();
    work_.reset();
  });
  if (thread_.joinable()) thread_.join();
}

bool Presence::tracked(std::string_view topic) const {
  for (const auto& pattern : settings_.topics) {
    if (pattern.matches(topic)) return true;
  }
  return false;
}

void Presence::join(const std::string& topic, const PresenceMember& member, std::uint64_t connection) {
  std::lock_guard lock(mutex_);
  if (table_.join(settings_.node_id, topic, member))
    batch_.push_back(Pending{PresenceEvent{true, topic, member}, connection});
}

void Presence::leave(const std::string& topic, const PresenceMember& member) {
  std::lock_guard lock(mutex_);
  if (table_.leave(settings_.node_id, topic, member))
    batch_.push_back(Pending{PresenceEvent{false, topic, member}, 0});
}

PresenceData Presence::data(std::string_view topic) const {
  std::lock_guard lock(mutex_);
  return table_.data(topic, settings_.max_members);
}

std::size_t Presence::members() const {
  std::lock_guard lock(mutex_);
  return table_.size();
}

void Presence::schedule_tick() {
  timer_.expires_after(kBatchPeriod);
  timer_.async_wait([this](boost::system::error_code ec) {
    // cancel() does not stop a completion that is already queued: stopping_ does.
    if (ec || stopping_) return;
    tick();
    schedule_tick();
  });
}

std::string Presence::message_header(std::uint64_t seq) const {
  return R"({"node":)" + boost::json::serialize(boost::json::string(settings_.node_id)) + R"(,"instance":")" +
         instance_ + R"(","seq":)" + std::to_string(seq);
}

void Presence::tick() {
  std::vector<Pending> batch;
  std::vector<Pending> gone;
  {
    std::lock_guard lock(mutex_);
    batch.swap(batch_);
    // To the other nodes, in order, a message per kMaxEventsPerMessage events.
    for (std::size_t first = 0; broker_.clustered() && first < batch.size(); first += kMaxEventsPerMessage) {
      boost::json::array events;
      const auto end = std::min(batch.size(), first + kMaxEventsPerMessage);
      for (std::size_t i = first; i < end; ++i) {
        const auto& event = batch[i].event;
        events.push_back(boost::json::array{event.join ? "j" : "l", event.topic, event.member.client_id,
                                            event.member.user_id});
      }
      broker_.send_to_nodes(kChannel,
                            message_header(++seq_) + R"(,"events":)" + boost::json::serialize(events) + "}");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sweep_ >= kSweepPeriod && !copies_.empty()) {
      last_sweep_ = now;
      // A node whose messages and heartbeats stopped 2 intervals ago is gone.
      const auto bound = 2 * broker_.heartbeat_interval();
      const auto alive = broker_.live_nodes(bound);
      std::vector<std::string> silent;
      for (const auto& [node, copy] : copies_) {
        if (now - copy.heard > bound && std::find(alive.begin(), alive.end(), node) == alive.end())
          silent.push_back(node);
      }
      for (const auto& node : silent) {
        log_.info("presence: node {} is gone; its members leave", node);
        for (auto& event : table_.drop(node)) gone.push_back(Pending{std::move(event), 0});
        copies_.erase(node);
      }
    }
  }
  deliver(batch);
  deliver(gone);
}

void Presence::deliver(const std::vector<Pending>& events) {
  if (events.empty()) return;
  // Per topic, in order.
  boost::unordered_flat_map<std::string_view, std::vector<const Pending*>> by_topic;
  for (const auto& pending : events) by_topic[pending.event.topic].push_back(&pending);
  for (const auto& [topic, list] : by_topic) {
    if (list.size() <= kMaxEventsPerTopic) {
      for (const auto* pending : list) {
        const auto& event = pending->event;
        hub_.dispatch(make_publication(Publication::Target::topic, event.topic,
                                       make_presence_event_frame(event.join, event.topic, event.member),
                                       event.join ? pending->connection : 0, nullptr, true));
      }
      continue;
    }
    std::size_t joins = 0;
    for (const auto* pending : list) joins += pending->event.join ? 1 : 0;
    PresenceData now;
    {
      std::lock_guard lock(mutex_);
      now = table_.data(topic, 0);
    }
    hub_.dispatch(make_publication(Publication::Target::topic, std::string(topic),
                                   make_presence_summary_frame(topic, joins, list.size() - joins, now), 0,
                                   nullptr, true));
  }
}

void Presence::on_message(std::string_view body) {
  boost::json::value value;
  const auto* object = parse_object(body, value);
  if (object == nullptr) return;
  const auto* node_text = string_at(*object, "node");
  const auto* instance_text = string_at(*object, "instance");
  if (node_text == nullptr || instance_text == nullptr || node_text->empty() ||
      *node_text == settings_.node_id)
    return;
  const std::string node(node_text->data(), node_text->size());
  const std::string instance(instance_text->data(), instance_text->size());
  const auto* seq_value = object->if_contains("seq");
  const std::uint64_t seq = seq_value != nullptr && seq_value->is_int64() && seq_value->get_int64() >= 0
                                ? static_cast<std::uint64_t>(seq_value->get_int64())
                                : 0;

  std::vector<Pending> changes;
  const auto add = [&changes](std::vector<PresenceEvent> events) {
    for (auto& event : events) changes.push_back(Pending{std::move(event), 0});
  };
  bool ask = false;
  {
    std::lock_guard lock(mutex_);
    if (object->contains("bye")) {
      add(table_.drop(node));
      copies_.erase(node);
    } else {
      auto& copy = copies_[node];
      const auto now = std::chrono::steady_clock::now();
      if (copy.instance != instance) {
        // The node restarted: what its earlier run had is gone.
        add(table_.drop(node));
        copy = Copy{instance, 0, false, now, {}};
      }
      copy.heard = now;
      if (const auto* members = object->if_contains("members"); members != nullptr && members->is_array()) {
        const auto* part = object->if_contains("part");
        if (part != nullptr && part->is_int64() && part->get_int64() == 0) copy.full.clear();
        for (const auto& item : members->get_array()) {
          PresenceEvent event;
          if (read_member(item, 0, event)) copy.full.push_back(std::move(event));
        }
        if (object->contains("last")) {
          add(table_.replace(node, copy.full));
          copy.full.clear();
          copy.synced = true;
          copy.next_seq = seq + 1;
        }
      } else if (const auto* events = object->if_contains("events");
                 events != nullptr && events->is_array()) {
        if (seq != copy.next_seq) copy.synced = false;  // a gap: ask for the whole state
        copy.next_seq = seq + 1;
        for (const auto& item : events->get_array()) {
          PresenceEvent event;
          if (!read_member(item, 1, event)) continue;
          const auto& kind = item.get_array()[0].get_string();
          event.join = kind == "j";
          if (!event.join && kind != "l") continue;
          const bool changed = event.join ? table_.join(node, event.topic, event.member)
                                          : table_.leave(node, event.topic, event.member);
          if (changed) changes.push_back(Pending{std::move(event), 0});
        }
      }
      // Not whole yet (new, restarted, or a message lost): ask, once a second at most.
      // (The full state of this instance replaces the table part; the events since
      // then are idempotent on top of it.)
      static constexpr std::chrono::steady_clock::time_point never{};
      if (!copy.synced && copy.full.empty()) {
        ask = copy.heard - copy.asked >= kAskAgainAfter || copy.asked == never;
        if (ask) copy.asked = copy.heard;
      }
    }
  }
  if (ask) ask_full_state(node);
  deliver(changes);
}

void Presence::ask_full_state(const std::string& node) {
  boost::json::object request{{"node", settings_.node_id}, {"want", node}};
  broker_.send_to_nodes(kSyncChannel, boost::json::serialize(request));
}

void Presence::on_sync_request(std::string_view body) {
  boost::json::value value;
  const auto* object = parse_object(body, value);
  if (object == nullptr) return;
  const auto* want = string_at(*object, "want");
  const auto* from = string_at(*object, "node");
  if (want == nullptr || (*want != "*" && *want != settings_.node_id)) return;
  if (from != nullptr && *from == settings_.node_id) return;  // its own request, come back
  std::lock_guard lock(mutex_);
  send_full_state_locked();
}

void Presence::send_full_state_locked() {
  if (!broker_.clustered()) return;
  const auto members = table_.members_of(settings_.node_id);
  std::size_t part = 0;
  std::size_t first = 0;
  do {
    boost::json::array list;
    const auto end = std::min(members.size(), first + kMaxEventsPerMessage);
    for (std::size_t i = first; i < end; ++i) {
      list.push_back(
          boost::json::array{members[i].topic, members[i].member.client_id, members[i].member.user_id});
    }
    std::string message = message_header(seq_) + R"(,"part":)" + std::to_string(part++) +
                          (end == members.size() ? R"(,"last":true)" : "") + R"(,"members":)" +
                          boost::json::serialize(list) + "}";
    broker_.send_to_nodes(kChannel, message);
    first = end;
  } while (first < members.size());
}

}  // namespace natsync
