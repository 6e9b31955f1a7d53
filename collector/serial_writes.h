#ifndef EROOM_COLLECTOR_SERIAL_WRITES_H_
#define EROOM_COLLECTOR_SERIAL_WRITES_H_

#include <deque>
#include <utility>

#include "grpcpp/support/status.h"

namespace eroom::collector {

// The writes of one server-streaming reactor (ServerWriteReactor or
// ServerBidiReactor): messages go out in order, one write in flight at a
// time, and Finish waits for the write in flight (gRPC forbids overlapping
// them) and drops the messages queued behind it.
//
// Not thread-safe: the reactor calls it under its own lock.
template <typename Reactor, typename Message>
class SerialWrites {
 public:
  explicit SerialWrites(Reactor* reactor) : reactor_(reactor) {}

  // Queues `message` and starts writing if idle; false if finishing.
  bool Queue(Message message) {
    if (finishing_) return false;
    outgoing_.push_back(std::move(message));
    WriteNext();
    return true;
  }

  // Call from the reactor's OnWriteDone(ok). True if the stream goes on: the
  // write succeeded, no Finish waited for it, and the next write, if any,
  // has started. False if a waiting Finish was sent now or the write failed
  // (the reactor then finishes, which is a no-op in the first case).
  bool WriteDone(bool ok) {
    outgoing_.pop_front();
    writing_ = false;
    if (finishing_) {
      reactor_->Finish(final_status_);
      return false;
    }
    if (!ok) return false;
    WriteNext();
    return true;
  }

  // Finishes the call with `status` once the write in flight, if any, is
  // done; what is queued behind it is dropped. False if already finishing.
  bool Finish(const grpc::Status& status) {
    if (finishing_) return false;
    finishing_ = true;
    if (writing_) {
      outgoing_.erase(outgoing_.begin() + 1, outgoing_.end());
      final_status_ = status;
      return true;
    }
    outgoing_.clear();
    reactor_->Finish(status);
    return true;
  }

  // Nothing queued and no write in flight.
  bool idle() const { return outgoing_.empty(); }
  bool finishing() const { return finishing_; }

 private:
  void WriteNext() {
    if (writing_ || outgoing_.empty() || finishing_) return;
    writing_ = true;
    reactor_->StartWrite(&outgoing_.front());
  }

  Reactor* const reactor_;
  // The front is the write in flight, if any: a deque keeps it in place
  // while others are queued behind it.
  std::deque<Message> outgoing_;
  bool writing_ = false;
  bool finishing_ = false;
  grpc::Status final_status_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SERIAL_WRITES_H_
