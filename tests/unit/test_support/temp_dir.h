#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_TEMP_DIR_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace eroom::test_support {

// A fresh directory under the test temp dir, removed with everything in it
// when the object goes away. Unique per object, so tests run in parallel.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "eroom") {
    std::string pattern = ::testing::TempDir() + prefix + "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    // A test may have taken permissions away to provoke errors.
    for (auto it =
             std::filesystem::recursive_directory_iterator(path_, ignored);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
      std::filesystem::permissions(it->path(),
                                   std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ignored);
    }
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string PathIn(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

// A fixture whose every test gets a fresh TempDir.
class TempDirTest : public ::testing::Test {
 protected:
  std::string PathIn(const std::string& name) const {
    return temp_dir_.PathIn(name);
  }
  const std::filesystem::path& temp_dir() const { return temp_dir_.path(); }

 private:
  TempDir temp_dir_;
};

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_TEMP_DIR_H_
