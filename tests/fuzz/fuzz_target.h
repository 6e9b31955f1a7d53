#ifndef EROOM_TESTS_FUZZ_FUZZ_TARGET_H_
#define EROOM_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/proto_mutator.h"

namespace eroom::fuzz {

// A property the target checks beyond not crashing: when it does not hold,
// the abort makes libFuzzer keep the input.
inline void Require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %s\n", what);
  std::abort();
}

}  // namespace eroom::fuzz

// Defines libFuzzer's hooks for a target whose input is one serialized
// `MessageType`: mutation by MutateSerializedMessage, and protobuf's log
// silenced, which reports every string field with invalid UTF-8 it refuses
// to parse (at thousands of inputs a second, noise, and slow).
#define EROOM_FUZZ_SERIALIZED_INPUT(MessageType)                        \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                  \
    google::protobuf::SetLogHandler(nullptr);                           \
    return 0;                                                           \
  }                                                                     \
  extern "C" size_t LLVMFuzzerCustomMutator(                            \
      uint8_t* data, size_t size, size_t max_size, unsigned int seed) { \
    MessageType scratch;                                                \
    return ::eroom::fuzz::MutateSerializedMessage(scratch, data, size,  \
                                                  max_size, seed);      \
  }

#endif  // EROOM_TESTS_FUZZ_FUZZ_TARGET_H_
