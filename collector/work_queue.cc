#include "collector/work_queue.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace eroom::collector {

WorkQueue::WorkQueue(std::string name, int threads, size_t capacity)
    : queue_(capacity) {
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this, thread_name = absl::StrCat(name, "-", i)] {
      SetThreadName(thread_name.c_str());
      while (true) {
        std::optional<std::function<void()>> work =
            queue_.Pop(absl::InfiniteDuration());
        if (!work) return;  // Closed and drained.
        (*work)();
      }
    });
  }
}

WorkQueue::~WorkQueue() { Stop(); }

bool WorkQueue::TrySubmit(std::function<void()> work) {
  return queue_.TryPush(std::move(work));
}

void WorkQueue::Stop() {
  queue_.Close();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

}  // namespace eroom::collector
