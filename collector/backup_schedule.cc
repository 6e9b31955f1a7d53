#include "collector/backup_schedule.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "spdlog/spdlog.h"

namespace eroom::collector {
namespace {

constexpr char kPrefix[] = "eroom-collector-";
constexpr char kSuffix[] = ".db";
// Sorts as it reads: oldest first by name.
constexpr char kTimeFormat[] = "%Y-%m-%dT%H%M%SZ";
// A failed copy is tried again after this long (or `every`, if sooner).
constexpr absl::Duration kRetryAfter = absl::Minutes(10);

// The time in a copy's file name; nullopt for any other file.
std::optional<absl::Time> CopyTime(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefix) ||
      !absl::ConsumeSuffix(&name, kSuffix)) {
    return std::nullopt;
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(kTimeFormat, name, absl::UTCTimeZone(), &time, &error)) {
    return std::nullopt;
  }
  return time;
}

}  // namespace

BackupSchedule::BackupSchedule(const BackupScheduleConfig& config,
                               const Clock& clock, Copier copy)
    : config_(config), clock_(clock), copy_(std::move(copy)) {}

std::string BackupSchedule::CopyName(absl::Time time) {
  return absl::StrCat(kPrefix,
                      absl::FormatTime(kTimeFormat, time, absl::UTCTimeZone()),
                      kSuffix);
}

std::vector<std::string> BackupSchedule::Copies() const {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(config_.dir, error)) {
    std::string name = entry.path().filename().string();
    if (CopyTime(name).has_value()) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<absl::Time> BackupSchedule::NewestCopy() const {
  const std::vector<std::string> copies = Copies();
  if (copies.empty()) return std::nullopt;
  return CopyTime(copies.back());
}

absl::Time BackupSchedule::RunDue() {
  const absl::Time now = clock_.Now();
  if (!next_.has_value()) {
    std::optional<absl::Time> newest = NewestCopy();
    next_ = newest.has_value() ? *newest + config_.every : now;
  }
  if (now < *next_) return *next_;
  std::error_code error;
  std::filesystem::create_directories(config_.dir, error);
  const std::filesystem::path path =
      std::filesystem::path(config_.dir) / CopyName(now);
  const std::string partial = absl::StrCat(path.string(), ".partial");
  const absl::Time started = absl::Now();
  absl::StatusOr<int64_t> size = copy_(partial);
  if (size.ok()) {
    std::filesystem::rename(partial, path, error);
    if (error) {
      size = absl::InternalError(absl::StrCat(
          "rename ", partial, " to ", path.string(), ": ", error.message()));
    }
  }
  if (!size.ok()) {
    std::filesystem::remove(partial, error);
    spdlog::error("scheduled backup to {} failed: {}", path.string(),
                  size.status().ToString());
    next_ = now + std::min(kRetryAfter, config_.every);
    return *next_;
  }
  spdlog::info("scheduled backup: {} ({} bytes, {})", path.string(), *size,
               absl::FormatDuration(absl::Now() - started));
  next_ = now + config_.every;
  RemoveOldCopies();
  return *next_;
}

void BackupSchedule::RemoveOldCopies() {
  std::vector<std::string> copies = Copies();
  const size_t keep = static_cast<size_t>(config_.keep);
  if (copies.size() <= keep) return;
  copies.resize(copies.size() - keep);
  for (const std::string& name : copies) {
    std::error_code error;
    std::filesystem::remove(std::filesystem::path(config_.dir) / name, error);
    if (error) {
      spdlog::warn("cannot remove the old backup {}: {}", name,
                   error.message());
    }
  }
}

}  // namespace eroom::collector
