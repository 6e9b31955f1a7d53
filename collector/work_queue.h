#ifndef EROOM_COLLECTOR_WORK_QUEUE_H_
#define EROOM_COLLECTOR_WORK_QUEUE_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"

namespace eroom::collector {

// A fixed set of named worker threads fed by a bounded queue. Lets gRPC
// handlers hand off blocking work (queries) instead of doing it themselves.
class WorkQueue {
 public:
  WorkQueue(std::string name, int threads, size_t capacity);
  ~WorkQueue();

  // Never blocks; false when the queue is full or stopped.
  bool TrySubmit(std::function<void()> work);

  // Work waiting for a worker.
  size_t queued() const { return queue_.size(); }

  // Runs what is already queued, then joins the workers.
  void Stop();

 private:
  BoundedQueue<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_WORK_QUEUE_H_
