// The log pipeline's stages one at a time, on generated ERoom lines held in
// memory: where the time of log_pipeline_bench goes.

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"
#include "agent/classifier.h"
#include "agent/log_event_assembler.h"
#include "agent/log_header_parser.h"
#include "agent/log_line_splitter.h"
#include "agent/log_utf8.h"
#include "benchmark/benchmark.h"
#include "common/utf8.h"
#include "tests/bench/log_generator.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;
using agent::LogFileDate;
using agent::LogHeaderParser;

constexpr uint64_t kLines = 20'000;

const std::string& SampleText() {
  static const std::string* text = [] {
    LogGeneratorOptions options;
    options.lines = kLines;
    return new std::string(GenerateLog(options));
  }();
  return *text;
}

// Views into SampleText(), one per line.
const std::vector<std::string_view>& SampleLines() {
  static const std::vector<std::string_view>* lines = [] {
    auto* lines = new std::vector<std::string_view>;
    for (absl::string_view line :
         absl::StrSplit(SampleText(), '\n', absl::SkipEmpty())) {
      lines->emplace_back(line.data(), line.size());
    }
    return lines;
  }();
  return *lines;
}

// The sample's events as the assembler makes them, not yet classified.
const std::vector<v1::LogEvent>& SampleEvents() {
  static const std::vector<v1::LogEvent>* events = [] {
    auto* events = new std::vector<v1::LogEvent>;
    const LogHeaderParser parser(absl::UTCTimeZone());
    agent::LogEventAssembler assembler("server.log", parser, 64 * 1024);
    auto emit = [&](v1::LogEvent&& event) {
      events->push_back(std::move(event));
    };
    for (std::string_view line : SampleLines()) {
      assembler.AddLine(agent::LogLine{line, 0, false}, LogFileDate{},
                        absl::UnixEpoch(), emit);
    }
    assembler.Flush(emit);
    return events;
  }();
  return *events;
}

void CountLines(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * SampleLines().size());
  state.SetBytesProcessed(state.iterations() * SampleText().size());
}

void BM_SplitLines(benchmark::State& state) {
  const std::string& text = SampleText();
  for (auto _ : state) {
    agent::LogLineSplitter splitter(64 * 1024);
    size_t lines = 0;
    splitter.Append(text, [&](const agent::LogLine&) { ++lines; });
    benchmark::DoNotOptimize(lines);
  }
  CountLines(state);
}
BENCHMARK(BM_SplitLines)->Name("BM_SplitLines/small");

void BM_ParseHeaders(benchmark::State& state) {
  const LogHeaderParser parser(absl::FixedTimeZone(9 * 3600));
  const LogFileDate file_date;
  for (auto _ : state) {
    for (std::string_view line : SampleLines()) {
      benchmark::DoNotOptimize(parser.Parse(line, file_date));
    }
  }
  CountLines(state);
}
BENCHMARK(BM_ParseHeaders)->Name("BM_ParseHeaders/small");

void BM_CheckUtf8(benchmark::State& state) {
  for (auto _ : state) {
    for (std::string_view line : SampleLines()) {
      benchmark::DoNotOptimize(
          IsWellFormedUtf8(absl::string_view(line.data(), line.size())));
    }
  }
  CountLines(state);
}
BENCHMARK(BM_CheckUtf8)->Name("BM_CheckUtf8/small");

// The sample's text as a host that ran on Windows wrote it: every Hangul
// syllable in CP949 (two bytes, ill-formed as UTF-8).
void BM_RepairCp949AsUtf8(benchmark::State& state) {
  std::vector<std::string> lines;
  for (std::string_view line : SampleLines()) {
    std::string mangled(line);
    for (size_t pos = 0; (pos = mangled.find("\xEC", pos)) != std::string::npos;
         pos += 2) {
      mangled.replace(pos, 3, "\xC7\xD1");
    }
    lines.push_back(std::move(mangled));
  }
  size_t bytes = 0;
  for (const std::string& line : lines) bytes += line.size() + 1;
  std::string repaired;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      repaired = line;
      benchmark::DoNotOptimize(agent::RepairUtf8(repaired));
    }
  }
  state.SetItemsProcessed(state.iterations() * lines.size());
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_RepairCp949AsUtf8)->Name("BM_RepairCp949AsUtf8/small");

void BM_Classify(benchmark::State& state) {
  const agent::Classifier classifier =
      *agent::Classifier::Create(agent::DefaultClassificationRules());
  std::vector<v1::LogEvent> events = SampleEvents();
  for (auto _ : state) {
    for (v1::LogEvent& event : events) {
      // Undo the previous iteration's classification (cheap next to it).
      event.clear_event_type();
      event.clear_fields();
      classifier.Classify(event);
    }
  }
  state.SetItemsProcessed(state.iterations() * events.size());
}
BENCHMARK(BM_Classify)->Name("BM_Classify/small");

}  // namespace
}  // namespace eroom::bench

BENCHMARK_MAIN();
