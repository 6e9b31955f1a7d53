#include "tests/bench/temp_log_file.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "tests/bench/log_generator.h"

namespace eroom::bench {
namespace {

// Owns the file: removes it when destroyed (at exit).
class OwnedFile {
 public:
  explicit OwnedFile(uint64_t lines) {
    file_.lines = lines;
    file_.path = (std::filesystem::temp_directory_path() /
                  ("eroom-bench-" + std::to_string(getpid()) + "-" +
                   std::to_string(lines) + ".log"))
                     .string();
    LogGeneratorOptions options;
    options.lines = lines;
    const absl::Status written = WriteLogFile(file_.path, options);
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", std::string(written.message()).c_str());
      std::exit(1);
    }
    file_.bytes = std::filesystem::file_size(file_.path);
  }
  OwnedFile(const OwnedFile&) = delete;
  OwnedFile& operator=(const OwnedFile&) = delete;
  ~OwnedFile() {
    std::error_code ignored;
    std::filesystem::remove(file_.path, ignored);
  }

  const TempLogFile& file() const { return file_; }

 private:
  TempLogFile file_;
};

}  // namespace

const TempLogFile& GeneratedLogFile(uint64_t lines) {
  static std::map<uint64_t, OwnedFile> files;
  return files.try_emplace(lines, lines).first->second.file();
}

}  // namespace eroom::bench
