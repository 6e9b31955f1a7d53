#ifndef EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_UTIL_H_
#define EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace eroom::collector {

// A fresh directory for one test, removed with everything in it afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "eroom-storage-XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string PathIn(const std::string& name) const {
    return (dir_ / name).string();
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace eroom::collector

#endif  // EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_UTIL_H_
