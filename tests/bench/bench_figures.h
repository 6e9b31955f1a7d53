#ifndef EROOM_TESTS_BENCH_BENCH_FIGURES_H_
#define EROOM_TESTS_BENCH_BENCH_FIGURES_H_

#include <chrono>
#include <filesystem>
#include <string>

namespace eroom::bench {

// The machine's load averages over 1, 5 and 15 minutes, as /proc/loadavg
// has them: printed beside every figure, which a busy machine skews.
std::string LoadAverage();

// Seconds on the steady clock since `start`.
double SecondsSince(std::chrono::steady_clock::time_point start);

// The size of the file at `path` in MiB; 0 if there is none.
double FileMiB(const std::string& path);

// utime + stime of a /proc/PID/stat or /proc/PID/task/TID/stat file, in
// seconds; 0 if it cannot be read.
double StatCpuSeconds(const std::filesystem::path& stat_path);

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_BENCH_FIGURES_H_
