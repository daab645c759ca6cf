#pragma once
// A connection's outbound FIFO of shared frames, written in batches: take() hands out
// everything queued (up to a limit) as one buffer sequence for a gather write, and
// written() releases it. Frames queued while a batch is in flight wait for the next.
//
// A vector with a head index rather than a std::deque, whose first block alone costs
// 512 bytes per idle connection. The batch is a view by index into the vector, so
// frames may be queued (and the vector reallocated) while it is being written.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <iterator>
#include <vector>

#include "protocol/wire_frame.hpp"

namespace natsync {

class OutboundQueue {
 public:
  // The frames of one batch as a ConstBufferSequence (what asio::async_write takes).
  class Batch {
   public:
    class const_iterator {
     public:
      using iterator_category = std::random_access_iterator_tag;
      using value_type = boost::asio::const_buffer;
      using difference_type = std::ptrdiff_t;
      using pointer = const value_type*;
      using reference = value_type;

      const_iterator() = default;
      const_iterator(const std::vector<Frame>* frames, std::size_t index) : frames_(frames), index_(index) {}
      value_type operator*() const {
        const auto bytes = (*frames_)[index_]->bytes();
        return {bytes.data(), bytes.size()};
      }
      value_type operator[](difference_type n) const { return *(*this + n); }
      const_iterator& operator++() { return ++index_, *this; }
      const_iterator operator++(int) {
        auto copy = *this;
        ++index_;
        return copy;
      }
      const_iterator& operator--() { return --index_, *this; }
      const_iterator operator--(int) {
        auto copy = *this;
        --index_;
        return copy;
      }
      const_iterator& operator+=(difference_type n) { return index_ += static_cast<std::size_t>(n), *this; }
      const_iterator& operator-=(difference_type n) { return index_ -= static_cast<std::size_t>(n), *this; }
      friend const_iterator operator+(const_iterator it, difference_type n) { return it += n; }
      friend const_iterator operator-(const_iterator it, difference_type n) { return it -= n; }
      friend difference_type operator-(const const_iterator& a, const const_iterator& b) {
        return static_cast<difference_type>(a.index_) - static_cast<difference_type>(b.index_);
      }
      friend bool operator==(const const_iterator& a, const const_iterator& b) {
        return a.index_ == b.index_;
      }
      friend auto operator<=>(const const_iterator& a, const const_iterator& b) {
        return a.index_ <=> b.index_;
      }

     private:
      const std::vector<Frame>* frames_ = nullptr;
      std::size_t index_ = 0;
    };

    Batch(const std::vector<Frame>* frames, std::size_t first, std::size_t count)
        : frames_(frames), first_(first), count_(count) {}
    const_iterator begin() const { return {frames_, first_}; }
    const_iterator end() const { return {frames_, first_ + count_}; }

   private:
    const std::vector<Frame>* frames_;
    std::size_t first_;
    std::size_t count_;
  };

  bool has_unsent() const { return head_ + in_flight_ < frames_.size(); }
  bool in_flight() const { return in_flight_ > 0; }
  // Bytes queued or being written.
  std::size_t bytes() const { return bytes_; }

  void push(Frame frame) {
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
  }

  // The oldest frame not yet handed to the socket. Requires has_unsent().
  const Frame& next_unsent() const { return frames_[head_ + in_flight_]; }

  // The next batch: every unsent frame, at most `max_frames`. Requires !in_flight().
  Batch take(std::size_t max_frames) {
    in_flight_ = std::min(frames_.size() - head_, max_frames);
    return {&frames_, head_, in_flight_};
  }

  // The batch from take() is on the wire: release it.
  void written() {
    for (std::size_t i = head_; i < head_ + in_flight_; ++i) {
      bytes_ -= frames_[i]->size();
      frames_[i].reset();
    }
    head_ += in_flight_;
    in_flight_ = 0;
    if (head_ == frames_.size()) {
      frames_.clear();
      head_ = 0;
    } else if (head_ > kCompactAt && head_ * 2 > frames_.size()) {
      frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  // Drops every frame not yet handed to the socket (a batch in flight stays until
  // written()); with `release_memory`, gives the vector's memory back if it can.
  void drop_unsent(bool release_memory = false) {
    for (auto i = head_ + in_flight_; i < frames_.size(); ++i) bytes_ -= frames_[i]->size();
    frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(head_ + in_flight_), frames_.end());
    if (release_memory && frames_.empty()) {
      frames_.shrink_to_fit();
      head_ = 0;
    }
  }

 private:
  // A drained prefix longer than this is erased even while frames remain.
  static constexpr std::size_t kCompactAt = 64;

  std::vector<Frame> frames_;
  std::size_t head_ = 0;       // frames_[head_] is the oldest not yet written
  std::size_t in_flight_ = 0;  // frames_[head_, head_ + in_flight_) are being written
  std::size_t bytes_ = 0;
};

}  // namespace natsync
