#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_PROTO_MATCHERS_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_PROTO_MATCHERS_H_

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"

namespace eroom::test_support {

// A protobuf message equal to `expected`, field by field (map entries in
// any order).
MATCHER_P(EqualsProto, expected,
          "equals " + testing::PrintToString(expected.DebugString())) {
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_PROTO_MATCHERS_H_
