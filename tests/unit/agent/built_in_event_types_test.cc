#include <set>
#include <string>

#include "agent/classifier.h"
#include "common/event_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::agent {
namespace {

// The collector's alert rules check event types against this list (sorted,
// as the set is), so a new built-in type must be added to it.
TEST(BuiltInEventTypesTest, ListsEveryTypeOfTheDefaultClassification) {
  std::set<std::string> types = {"room_report"};  // Set by the room tracker.
  for (const ClassificationRule& rule : DefaultClassificationRules()) {
    types.insert(rule.event_type);
  }
  EXPECT_THAT(BuiltInEventTypes(), ::testing::ElementsAreArray(types));
}

}  // namespace
}  // namespace eroom::agent
