#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_PROTO_MATCHERS_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_PROTO_MATCHERS_H_

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"

namespace eroom::test_support {

// A protobuf message equal to `expected`, field by field (map entries in
// any order). A field that is not set equals one set to its default value,
// as in proto3, also in the proto2 LogEvent (log_event.proto).
MATCHER_P(EqualsProto, expected,
          "equals " + testing::PrintToString(expected.DebugString())) {
  using google::protobuf::util::MessageDifferencer;
  MessageDifferencer differencer;
  differencer.set_message_field_comparison(MessageDifferencer::EQUIVALENT);
  return differencer.Compare(arg, expected);
}

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_PROTO_MATCHERS_H_
