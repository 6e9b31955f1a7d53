#include "collector/alerting/receiver_program.h"

#include <string>
#include <vector>

#include "collector/alerting/notification_render.h"
#include "common/subprocess.h"

namespace eroom::collector::alerting {
namespace {

constexpr size_t kKeptStderrBytes = 300;

class ProgramReceiver : public Receiver {
 public:
  explicit ProgramReceiver(const ReceiverConfig& config) : config_(config) {}

  absl::Status Send(const Notification& notification) override {
    if (canceled()) return absl::CancelledError("stopping");
    const absl::Status status = RunSubprocess({
        .argv = config_.argv,
        .environment = ProgramEnvironment(notification, config_.name),
        .stdin_bytes = RenderWebhookJson(notification, config_.name),
        .capture_stdout = false,
        .output_tail_bytes = kKeptStderrBytes,
        .timeout = config_.timeout,
        .stop_requested = [this] { return canceled(); },
    });
    if (canceled() && !status.ok()) return absl::CancelledError("stopping");
    return status;
  }

 private:
  const ReceiverConfig config_;
};

}  // namespace

std::unique_ptr<Receiver> MakeProgramReceiver(const ReceiverConfig& config) {
  return std::make_unique<ProgramReceiver>(config);
}

}  // namespace eroom::collector::alerting
