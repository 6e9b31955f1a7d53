// The integration tests' main: gtest_main's, with each passing test's
// directories removed (InstallTempDirCleanup).

#include "gtest/gtest.h"
#include "tests/integration/process_harness.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  eroom::testing::InstallTempDirCleanup();
  return RUN_ALL_TESTS();
}
