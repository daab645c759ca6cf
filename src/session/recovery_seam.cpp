#include "session/recovery_seam.hpp"

#include <algorithm>
#include <utility>

namespace natsync {

void RecoverySeam::begin(const std::string& topic) {
  Floor fresh{topic};
  fresh.recovering = true;
  if (auto* floor = find(topic)) {
    *floor = std::move(fresh);
    return;
  }
  if (!floors_) floors_ = std::make_unique<std::vector<Floor>>();
  floors_->push_back(std::move(fresh));
}

bool RecoverySeam::recovering(std::string_view topic) const {
  const auto* floor = find(topic);
  return floor != nullptr && floor->recovering;
}

RecoverySeam::Live RecoverySeam::admit(const Publication& publication) {
  auto* floor = find(publication.key);
  if (floor == nullptr) return Live::deliver;
  if (floor->recovering) {
    floor->held_bytes += publication.frame->size();
    floor->held.push_back(Held{publication.offset, publication.epoch, publication.frame});
    return Live::held;
  }
  if (floor->position.epoch == publication.epoch && publication.offset <= floor->position.offset) {
    return Live::repeat;
  }
  erase(floor);  // live from here on
  return Live::deliver;
}

std::size_t RecoverySeam::held_bytes(std::string_view topic) const {
  const auto* floor = find(topic);
  return floor == nullptr ? 0 : floor->held_bytes;
}

std::vector<Frame> RecoverySeam::finish(std::string_view topic, const StreamPosition& position) {
  std::vector<Frame> live_frames;
  auto* floor = find(topic);
  if (floor == nullptr) return live_frames;
  floor->recovering = false;
  floor->position = position;
  floor->held_bytes = 0;
  const auto held = std::move(floor->held);
  floor->held.clear();
  bool live = position.offset == 0;  // nothing stored: no live copy can be a repeat
  for (const auto& message : held) {
    if (!live && message.epoch == position.epoch && message.offset <= position.offset) continue;
    live = true;
    live_frames.push_back(message.frame);
  }
  if (live) erase(floor);
  return live_frames;
}

void RecoverySeam::forget(std::string_view topic) { erase(find(topic)); }

RecoverySeam::Floor* RecoverySeam::find(std::string_view topic) {
  return const_cast<Floor*>(std::as_const(*this).find(topic));
}

const RecoverySeam::Floor* RecoverySeam::find(std::string_view topic) const {
  if (!floors_) return nullptr;
  const auto it = std::find_if(floors_->begin(), floors_->end(),
                               [topic](const Floor& floor) { return floor.topic == topic; });
  return it == floors_->end() ? nullptr : &*it;
}

void RecoverySeam::erase(const Floor* floor) {
  if (floor == nullptr) return;
  auto& floors = *floors_;
  floors.erase(floors.begin() + (floor - floors.data()));
  if (floors.empty()) floors_.reset();
}

}  // namespace natsync
