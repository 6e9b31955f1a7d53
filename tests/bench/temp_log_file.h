#ifndef EROOM_TESTS_BENCH_TEMP_LOG_FILE_H_
#define EROOM_TESTS_BENCH_TEMP_LOG_FILE_H_

#include <cstdint>
#include <string>

namespace eroom::bench {

// A file of `lines` generated ERoom log lines (see log_generator.h) in the
// temporary directory, made on first use and removed at exit, so that a
// benchmark run by the framework several times generates it once.
struct TempLogFile {
  std::string path;
  uint64_t lines = 0;
  uint64_t bytes = 0;
};
const TempLogFile& GeneratedLogFile(uint64_t lines);

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_TEMP_LOG_FILE_H_
