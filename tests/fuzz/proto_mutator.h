#ifndef EROOM_TESTS_FUZZ_PROTO_MUTATOR_H_
#define EROOM_TESTS_FUZZ_PROTO_MUTATOR_H_

#include <cstddef>
#include <cstdint>

#include "google/protobuf/message.h"

namespace eroom::fuzz {

// libFuzzer's custom mutator for targets whose input is one serialized
// `scratch`-typed message. Flipping bytes of a serialized protobuf mostly
// breaks its framing, so few mutants reach the code behind the parser; this
// parses the input and changes fields through reflection instead (values at
// and around limits, lengths, repeated and oneof members, NaN, unknown enum
// values), and still mutates raw bytes now and then, so the parser gets
// its share. `scratch` is cleared and reused.
size_t MutateSerializedMessage(google::protobuf::Message& scratch,
                               uint8_t* data, size_t size, size_t max_size,
                               unsigned int seed);

}  // namespace eroom::fuzz

#endif  // EROOM_TESTS_FUZZ_PROTO_MUTATOR_H_
