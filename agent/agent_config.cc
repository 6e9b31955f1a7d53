#include "agent/agent_config.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/classification_config.h"
#include "agent/text_decoder.h"
#include "common/config_reader.h"

namespace eroom::agent {
namespace {

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

// The port of an http(s):// URL (explicit or the scheme's default), or 0
// with a problem recorded when the URL is not usable.
int PortOfUrl(const std::string& url, ConfigMap& section,
              const std::string& key) {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) {
    section.AddProblem(key,
                       absl::StrCat("'", url, "' ", parsed.status().message()));
    return 0;
  }
  return parsed->port;
}

std::string UnderDir(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(dir) / path).lexically_normal().string();
}

// An argv list from the config. The program is a path, never looked up in
// PATH: absolute, or relative to eroom.dir (scripts/stop.sh); arguments
// are kept as written.
std::vector<std::string> ProgramArgv(ConfigMap& section, const std::string& key,
                                     const std::string& eroom_dir,
                                     bool required) {
  std::vector<std::string> argv = section.StringList(key, {});
  if (argv.empty()) {
    if (required) section.AddProblem(key, "is required when enabled");
    return argv;
  }
  if (argv.front().find('/') == std::string::npos) {
    section.AddProblem(key, absl::StrCat("[0]: \"", argv.front(),
                                         "\" must be a path (absolute, or "
                                         "relative to eroom.dir like "
                                         "scripts/stop.sh)"));
    return {};
  }
  argv.front() = UnderDir(eroom_dir, argv.front());
  return argv;
}

// `commands:`: which remote actions the collector may run here, and how.
CommandPolicy ParseCommandPolicy(ConfigMap& commands,
                                 const std::string& eroom_dir) {
  CommandPolicy policy;
  ConfigMap restart = commands.Map("safe_restart");
  SafeRestartPolicy& safe = policy.safe_restart;
  safe.enabled = restart.Bool("enabled", false);
  safe.stop_command =
      ProgramArgv(restart, "stop_command", eroom_dir, safe.enabled);
  safe.start_command =
      ProgramArgv(restart, "start_command", eroom_dir, safe.enabled);
  safe.program_timeout =
      restart.Duration("program_timeout", safe.program_timeout,
                       absl::Seconds(1), absl::Hours(1));
  safe.stop_grace = restart.Duration("stop_grace", safe.stop_grace,
                                     absl::Milliseconds(100), absl::Hours(1));
  safe.health_timeout = restart.Duration("health_timeout", safe.health_timeout,
                                         absl::Seconds(1), absl::Hours(1));
  safe.health_interval =
      restart.Duration("health_interval", safe.health_interval,
                       absl::Milliseconds(50), absl::Minutes(1));
  restart.Finish();

  ConfigMap automatic = commands.Map("auto_restart");
  AutoRestartPolicy& retry = policy.auto_restart;
  retry.enabled = automatic.Bool("enabled", false);
  if (retry.enabled && !safe.enabled) {
    automatic.AddProblem("enabled",
                         "needs commands.safe_restart (its start_command)");
  }
  retry.down_for = automatic.Duration("down_for", retry.down_for,
                                      absl::ZeroDuration(), absl::Hours(1));
  retry.backoff_initial =
      automatic.Duration("backoff_initial", retry.backoff_initial,
                         absl::Seconds(1), absl::Hours(1));
  retry.backoff_max = automatic.Duration("backoff_max", retry.backoff_max,
                                         absl::Seconds(1), absl::Hours(24));
  retry.max_attempts_per_hour = static_cast<int>(automatic.Int(
      "max_attempts_per_hour", retry.max_attempts_per_hour, 1, 60));
  automatic.Finish();

  ConfigMap housekeeping = commands.Map("log_housekeeping");
  HousekeepingPolicy& keep = policy.log_housekeeping;
  keep.enabled = housekeeping.Bool("enabled", false);
  keep.compress_after =
      housekeeping.Duration("compress_after", keep.compress_after,
                            absl::Hours(1), absl::Hours(24 * 3650));
  keep.delete_archives_after =
      housekeeping.Duration("delete_archives_after", keep.delete_archives_after,
                            absl::Hours(1), absl::Hours(24 * 3650));
  if (keep.delete_archives_after < keep.compress_after) {
    housekeeping.AddProblem("delete_archives_after",
                            "must not be shorter than compress_after");
  }
  keep.archive_dir =
      UnderDir(eroom_dir, housekeeping.String("archive_dir", "logs/archive"));
  const std::string daily_at = housekeeping.String("daily_at", "");
  if (!daily_at.empty()) {
    int hours = 0;
    int minutes = 0;
    char end = 0;
    if (std::sscanf(daily_at.c_str(), "%2d:%2d%c", &hours, &minutes, &end) !=
            2 ||
        hours < 0 || hours > 23 || minutes < 0 || minutes > 59) {
      housekeeping.AddProblem("daily_at", "must be HH:MM (00:00 to 23:59)");
    } else {
      keep.daily_at = absl::Hours(hours) + absl::Minutes(minutes);
    }
  }
  housekeeping.Finish();
  return policy;
}

}  // namespace

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  absl::StatusOr<ConfigDocument> doc = LoadConfigDocument(path);
  if (!doc.ok()) return doc.status();
  ConfigProblems& problems = *doc->problems;
  ConfigMap root(doc->root, "", &problems);
  AgentConfig config;

  ConfigMap agent = root.Map("agent");
  config.hostname = LocalHostname();
  config.agent_id = agent.String("id", config.hostname);
  if (config.agent_id.empty()) agent.AddProblem("id", "must not be empty");
  config.labels = agent.StringMap("labels");
  config.state_dir = agent.String("state_dir", config.state_dir);
  if (config.state_dir.empty()) {
    agent.AddProblem("state_dir", "must not be empty");
  }
  config.spool_max_bytes =
      static_cast<uint64_t>(
          agent.Int("spool_max_kb", 256 * 1024, 64, int64_t{1} << 30))
      << 10;
  config.log_level = agent.Choice("log_level", "info",
                                  {"trace", "debug", "info", "warn", "error"});
  agent.Finish();

  ConfigMap eroom = root.Map("eroom");
  config.eroom_dir = eroom.String("dir", "/opt/eroom");
  config.probes.base_url = eroom.String("url", "http://127.0.0.1:8080");
  while (!config.probes.base_url.empty() &&
         config.probes.base_url.back() == '/') {
    config.probes.base_url.pop_back();
  }
  config.resources.port = PortOfUrl(config.probes.base_url, eroom, "url");
  config.api_key_env = eroom.String("api_key_env", "EROOM_PRIVATE_KEY");
  config.resources.pid_file =
      UnderDir(config.eroom_dir, eroom.String("pid_file", "server.pid"));
  config.resources.process_match =
      eroom.String("process_match", "eroom-server.jar");
  eroom.Finish();

  ConfigMap logs = root.Map("logs");
  for (const std::string& pattern : logs.StringList(
           "paths",
           {"logs/server.log", "logs/server.*.log", "logs/eroom*.log"})) {
    config.logs.paths.push_back(UnderDir(config.eroom_dir, pattern));
  }
  std::vector<ConfigMap> encodings = logs.MapList("encodings");
  for (ConfigMap& entry : encodings) {
    std::string pattern = entry.String("glob", "");
    std::string encoding = entry.String("encoding", "utf-8");
    if (pattern.empty()) entry.AddProblem("glob", "required");
    if (!IsUtf8EncodingName(encoding) && !TextDecoder::Create(encoding).ok()) {
      entry.AddProblem("encoding",
                       absl::StrCat("unknown encoding '", encoding, "'"));
    }
    entry.Finish();
    config.logs.encodings.push_back(
        {.glob = UnderDir(config.eroom_dir, pattern), .encoding = encoding});
  }
  config.logs.rescan_interval =
      logs.Duration("rescan_interval", absl::Seconds(1),
                    absl::Milliseconds(100), absl::Minutes(10));
  config.logs.use_inotify = logs.Bool("inotify", true);
  config.logs.classification_rules = ParseClassificationConfig(logs);
  config.logs.start_at_beginning =
      logs.Choice("start_at", "end", {"end", "beginning"}) == "beginning";
  config.logs.eroom_dir = config.eroom_dir;
  config.logs.follow_symlinks_outside =
      logs.Bool("follow_symlinks_outside", false);
  config.logs.multiline_timeout =
      logs.Duration("multiline_timeout", absl::Seconds(1),
                    absl::Milliseconds(10), absl::Minutes(1));
  config.logs.close_idle_after = logs.Duration(
      "close_idle_after", absl::Minutes(1), absl::Seconds(1), absl::Hours(24));
  config.logs.max_event_bytes = static_cast<size_t>(
      logs.Int("max_event_bytes", 64 * 1024, 1024, 1024 * 1024));
  config.log_poll_interval =
      logs.Duration("poll_interval", absl::Milliseconds(250),
                    absl::Milliseconds(10), absl::Seconds(10));
  std::string zone = logs.String("time_zone", "local");
  if (zone != "local" && !absl::LoadTimeZone(zone, &config.logs.time_zone)) {
    logs.AddProblem("time_zone",
                    absl::StrCat("unknown time zone '", zone, "'"));
  }
  logs.Finish();

  ConfigMap resources = root.Map("resources");
  config.sample_interval = resources.Duration(
      "interval", absl::Seconds(5), absl::Milliseconds(10), absl::Hours(1));
  config.resources.mounts = resources.StringList("mounts", {"/"});
  config.resources.proc_root = resources.String("proc_root", "/proc");
  resources.Finish();

  ConfigMap probes = root.Map("probes");
  config.probe_interval = probes.Duration(
      "interval", absl::Seconds(5), absl::Milliseconds(10), absl::Hours(1));
  config.probes.timeout = probes.Duration(
      "timeout", absl::Seconds(2), absl::Milliseconds(10), absl::Minutes(1));
  probes.Finish();

  ConfigMap collector = root.Map("collector");
  config.uplink.collector_address =
      collector.String("address", config.uplink.collector_address);
  config.uplink.reconnect_initial =
      collector.Duration("reconnect_initial", absl::Milliseconds(500),
                         absl::Milliseconds(10), absl::Minutes(1));
  config.uplink.reconnect_max =
      collector.Duration("reconnect_max", absl::Seconds(30),
                         absl::Milliseconds(100), absl::Hours(1));
  config.uplink.batch_max_events = static_cast<size_t>(collector.Int(
      "batch_max_events", config.uplink.batch_max_events, 1, 100000));
  config.uplink.batch_max_delay =
      collector.Duration("batch_max_delay", absl::Milliseconds(200),
                         absl::Milliseconds(1), absl::Seconds(10));
  const std::string compression =
      collector.Choice("compression", "auto", {"auto", "gzip", "none"});
  config.uplink.compression = compression == "gzip"   ? LinkCompression::kGzip
                              : compression == "none" ? LinkCompression::kNone
                                                      : LinkCompression::kAuto;
  config.uplink.security =
      ParseClientSecurity(collector, config.uplink.collector_address);
  collector.Finish();

  ConfigMap commands = root.Map("commands");
  config.commands = ParseCommandPolicy(commands, config.eroom_dir);
  commands.Finish();

  root.Finish();
  if (!problems.empty()) return problems.ToStatus();

  if (const char* key = std::getenv(config.api_key_env.c_str())) {
    config.probes.api_key = key;
  }
  return config;
}

}  // namespace eroom::agent
