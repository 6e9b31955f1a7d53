// eroom-loggen: writes realistic ERoom log lines (see log_generator.h) to a
// file, e.g. to measure the agent's throughput and memory on a known load.

#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "tests/bench/log_generator.h"

int main(int argc, char** argv) {
  CLI::App app{"eroom-loggen: writes realistic ERoom log lines to a file"};
  eroom::bench::LogGeneratorOptions options;
  std::string out;
  app.add_option("--lines", options.lines, "number of lines to write")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "the same seed gives the same file")
      ->capture_default_str();
  app.add_option("--out", out, "file to write (replaced)")->required();
  CLI11_PARSE(app, argc, argv);

  const absl::Status written = eroom::bench::WriteLogFile(out, options);
  if (!written.ok()) {
    std::cerr << "eroom-loggen: " << written.message() << "\n";
    return 1;
  }
  return 0;
}
