#include "agent/log_file_problems.h"

#include <vector>

#include "spdlog/spdlog.h"

namespace eroom::agent {

void ProblemLog::Report(const std::string& subject,
                        const std::string& problem) {
  reported_.insert(subject);
  auto [it, inserted] = problems_.try_emplace(subject, problem);
  if (!inserted && it->second == problem) return;
  it->second = problem;
  ++streaks_;
  spdlog::warn("{}: {}; retrying", subject, problem);
}

void ProblemLog::Resolve(const std::string& subject) {
  reported_.erase(subject);
  if (problems_.erase(subject) == 0) return;
  spdlog::info("{}: ok again", subject);
}

void ProblemLog::ResolveUnreported() {
  std::vector<std::string> resolved;
  for (const auto& [subject, problem] : problems_) {
    if (!reported_.contains(subject)) resolved.push_back(subject);
  }
  for (const std::string& subject : resolved) Resolve(subject);
  reported_.clear();
}

}  // namespace eroom::agent
