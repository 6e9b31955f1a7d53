// What a hostile agent can make the collector do with one message: the
// bytes go through gRPC's own deserialization (as the AgentService stream
// receives them, split across slices), then ResolveLogSources and
// ValidateAgentMessage, which the stream runs on every message before acting
// on it. Beyond never
// crashing: every refusal is InvalidArgument with a reason, and a message
// that passes survives a serialization round trip unchanged and passes
// again (what the collector stores is what it checked).
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "collector/message_validation.h"
#include "common/log_sources.h"
#include "eroom/monitor/v1/monitor.grpc.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

namespace v1 = ::eroom::monitor::v1;
using eroom::fuzz::Require;

// The input in up to three slices, as bytes arrive from the network.
grpc::ByteBuffer AsReceived(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  const size_t cuts[] = {0, size / 3, size / 3 * 2, size};
  std::vector<grpc::Slice> slices;
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
    if (cuts[i + 1] > cuts[i]) {
      slices.emplace_back(bytes + cuts[i], cuts[i + 1] - cuts[i]);
    }
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

}  // namespace

EROOM_FUZZ_SERIALIZED_INPUT(v1::AgentMessage)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  grpc::ByteBuffer received = AsReceived(data, size);
  v1::AgentMessage message;
  if (!grpc::SerializationTraits<v1::AgentMessage>::Deserialize(&received,
                                                                &message)
           .ok()) {
    return 0;  // gRPC fails the stream before the collector sees it.
  }

  absl::Status valid = message.has_batch()
                           ? eroom::ResolveLogSources(*message.mutable_batch())
                           : absl::OkStatus();
  if (valid.ok()) valid = eroom::collector::ValidateAgentMessage(message);
  if (!valid.ok()) {
    Require(valid.code() == absl::StatusCode::kInvalidArgument,
            "refusals are InvalidArgument");
    Require(!valid.message().empty(), "refusals say why");
    return 0;
  }

  std::string wire;
  Require(message.SerializeToString(&wire), "a valid message serializes");
  v1::AgentMessage reparsed;
  Require(reparsed.ParseFromString(wire), "its serialization parses");
  Require(google::protobuf::util::MessageDifferencer::Equals(message, reparsed),
          "the round trip keeps it unchanged");
  Require(eroom::collector::ValidateAgentMessage(reparsed).ok(),
          "it is still valid after the round trip");
  return 0;
}
