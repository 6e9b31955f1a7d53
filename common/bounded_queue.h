#ifndef EROOM_COMMON_BOUNDED_QUEUE_H_
#define EROOM_COMMON_BOUNDED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace eroom {

// A multi-producer, multi-consumer FIFO with a fixed capacity: the joint
// between two threads. Producers choose what "full" means for them: TryPush
// refuses, PushWhenRoom waits, PushDropOldest evicts the oldest element.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // False when full or closed.
  bool TryPush(T item) {
    absl::MutexLock lock(&mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Accepts even when full (unless closed), so the queue may exceed its
  // capacity: for the few items a producer must never lose and that are
  // bounded otherwise. False once closed.
  bool PushBeyondCapacity(T item) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Waits until the queue has room, then accepts; false once closed.
  bool PushWhenRoom(T item) {
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || items_.size() < capacity_;
    };
    mu_.Await(absl::Condition(&room));
    if (closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Always accepts (unless closed); returns how many old items were evicted.
  size_t PushDropOldest(T item) {
    absl::MutexLock lock(&mu_);
    if (closed_) return 0;
    size_t dropped = 0;
    while (items_.size() >= capacity_) {
      items_.pop_front();
      ++dropped;
    }
    items_.push_back(std::move(item));
    return dropped;
  }

  // Waits up to `timeout` for at least one item, then takes up to `max`.
  // Returns an empty vector on timeout or once closed and drained.
  std::vector<T> PopBatch(size_t max, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || !items_.empty();
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    std::vector<T> out;
    while (!items_.empty() && out.size() < max) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    return out;
  }

  // Waits up to `timeout` until at least `count` items are queued or the
  // queue is closed.
  void AwaitSize(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || items_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  }

  std::optional<T> Pop(absl::Duration timeout) {
    std::vector<T> one = PopBatch(1, timeout);
    if (one.empty()) return std::nullopt;
    return std::move(one.front());
  }

  // Wakes every waiter; later pushes are refused, queued items still drain.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace eroom

#endif  // EROOM_COMMON_BOUNDED_QUEUE_H_
