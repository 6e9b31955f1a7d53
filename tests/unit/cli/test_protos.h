#ifndef EROOM_TESTS_UNIT_CLI_TEST_PROTOS_H_
#define EROOM_TESTS_UNIT_CLI_TEST_PROTOS_H_

// Canned collector answers shared by the CLI tests. Times are relative to
// kNowMs (FakeClock's default start, 2025-06-15 15:06:40 UTC).

#include <string>
#include <vector>

#include "eroom/monitor/v1/monitor.pb.h"
#include "google/protobuf/text_format.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::cli::testing {

inline constexpr int64_t kNowMs = 1750000000000;

template <typename Message>
Message ParseTextProto(const std::string& text) {
  Message message;
  if (!google::protobuf::TextFormat::ParseFromString(text, &message)) {
    message.Clear();
  }
  return message;
}

// Two hosts: prod-1 healthy with a queue backlog, prod-2 down for 3 minutes
// with failing probes and no sample.
inline eroom::monitor::v1::ListHostsResponse TwoHosts() {
  return ParseTextProto<eroom::monitor::v1::ListHostsResponse>(R"pb(
    hosts {
      agent_id: "a1b2c3"
      hostname: "eroom-prod-1"
      version: "0.1.0"
      labels { key: "env" value: "prod" }
      connected: true
      first_seen_unix_ms: 1749990000000
      last_seen_unix_ms: 1749999998000
      last_sequence: 4711
      latest_sample {
        time_unix_ms: 1749999998000
        cpu_percent: 12.5
        memory_used_bytes: 2147483648
        memory_total_bytes: 8589934592
        disks { mount: "/" used_bytes: 48318382080 total_bytes: 107374182400 }
        disks {
          mount: "/data"
          used_bytes: 86973087744
          total_bytes: 107374182400
        }
        eroom {
          up: true
          pid: 4242
          rss_bytes: 851443712
          cpu_percent: 35.2
          port_listening: true
        }
        load_average_1m: 0.52
      }
      latest_health {
        time_unix_ms: 1749999997000
        target: HEALTH
        ok: true
        http_status: 200
        latency_ms: 12
        health_status: "healthy"
      }
      latest_queue {
        time_unix_ms: 1749999996000
        target: QUEUE_STATUS
        ok: true
        http_status: 200
        latency_ms: 9
        queue { queued: 12 active: 1 completed: 142 max_concurrent: 1 }
      }
    }
    hosts {
      agent_id: "d4e5f6"
      hostname: "eroom-prod-2"
      connected: false
      last_seen_unix_ms: 1749999820000
      latest_health {
        time_unix_ms: 1749999820000
        target: HEALTH
        ok: false
        latency_ms: 1.5
        error: "connection refused"
      }
      latest_queue {
        time_unix_ms: 1749999820000
        target: QUEUE_STATUS
        ok: false
        error: "401 인증 실패"
      }
    }
  )pb");
}

// Newest first, as the collector sends them.
inline eroom::monitor::v1::QueryLogsResponse ErrorLogs() {
  return ParseTextProto<eroom::monitor::v1::QueryLogsResponse>(R"pb(
    events {
      agent_id: "a1b2c3"
      sequence: 4700
      event {
        time_unix_ms: 1749999990344
        level: ERROR
        message: "통합 방 생성 중 시스템 오류 발생: ruid=room_3f9a1c2b7d4e8f60\njava.lang.RuntimeException: boom\n\tat c.f.e.Foo.bar(Foo.java:12)"
        event_type: "room_failed"
        ruid: "room_3f9a1c2b7d4e8f60"
      }
    }
    events {
      agent_id: "a1b2c3"
      sequence: 4600
      event {
        time_unix_ms: 1749999950000
        level: ERROR
        message: "API 호출 실패. 상태 코드: 429, 메시지: "
        event_type: "model_failed"
      }
    }
  )pb");
}

inline eroom::monitor::v1::QueryMetricsResponse CpuMetrics() {
  return ParseTextProto<eroom::monitor::v1::QueryMetricsResponse>(R"pb(
    series {
      agent_id: "a1b2c3"
      name: "host.cpu_percent"
      points { time_unix_ms: 1749999940000 value: 10 }
      points { time_unix_ms: 1749999970000 value: 30 }
      points { time_unix_ms: 1750000000000 value: 20 }
    }
  )pb");
}

// A ping of prod-1 requested a minute ago: answered, then succeeded.
inline eroom::monitor::v1::CommandRecord SucceededPing() {
  return ParseTextProto<eroom::monitor::v1::CommandRecord>(R"pb(
    command_id: "c0ffee01"
    agent_id: "a1b2c3"
    command {
      command_id: "c0ffee01"
      ping {}
    }
    requested_by: "oscar"
    requested_unix_ms: 1749999940000
    state: SUCCEEDED
    progress {
      command_id: "c0ffee01"
      state: ACCEPTED
      time_unix_ms: 1749999940003
    }
    progress {
      command_id: "c0ffee01"
      state: SUCCEEDED
      message: "pong"
      time_unix_ms: 1749999940005
    }
  )pb");
}

// Newest first: a housekeeping prod-2 refused, then the ping above.
inline eroom::monitor::v1::ListCommandsResponse TwoCommands() {
  eroom::monitor::v1::ListCommandsResponse response =
      ParseTextProto<eroom::monitor::v1::ListCommandsResponse>(R"pb(
        commands {
          command_id: "d00d02"
          agent_id: "d4e5f6"
          command {
            command_id: "d00d02"
            log_housekeeping {}
          }
          requested_by: "oscar"
          requested_unix_ms: 1749999990000
          state: REJECTED
          progress {
            command_id: "d00d02"
            state: REJECTED
            step: "policy"
            message: "log_housekeeping is not enabled"
            time_unix_ms: 1749999990010
          }
        }
      )pb");
  *response.add_commands() = SucceededPing();
  return response;
}

// A safe restart of prod-1 requested by alice 30 s ago, still draining.
inline eroom::monitor::v1::CommandRecord DrainingRestart() {
  return ParseTextProto<eroom::monitor::v1::CommandRecord>(R"pb(
    command_id: "c0ffee09"
    agent_id: "a1b2c3"
    command {
      command_id: "c0ffee09"
      safe_restart { drain_timeout_ms: 600000 }
    }
    requested_by: "alice"
    requested_unix_ms: 1749999970000
    state: RUNNING
    progress {
      command_id: "c0ffee09"
      state: RUNNING
      step: "drain"
      message: "active 1, queued 0"
      time_unix_ms: 1749999982300
    }
  )pb");
}

// The steps of a safe restart requested at SucceededPing()'s time that
// ends SUCCEEDED.
inline std::vector<eroom::monitor::v1::CommandProgress> RestartSteps() {
  const auto step = [](const std::string& text) {
    return ParseTextProto<eroom::monitor::v1::CommandProgress>(text);
  };
  return {
      step(R"pb(state: ACCEPTED time_unix_ms: 1749999940004)pb"),
      step(R"pb(state: RUNNING
                step: "queue"
                message: "active 1, queued 0"
                time_unix_ms: 1749999940100)pb"),
      step(R"pb(state: RUNNING
                step: "drain"
                message: "drained"
                time_unix_ms: 1749999952300)pb"),
      step(R"pb(state: RUNNING
                step: "stop"
                message: "stopped pid 4242"
                time_unix_ms: 1749999953000)pb"),
      step(R"pb(state: RUNNING
                step: "start"
                message: "started"
                time_unix_ms: 1749999954000)pb"),
      step(R"pb(state: SUCCEEDED
                step: "health"
                message: "healthy, port listening"
                time_unix_ms: 1749999958500)pb"),
  };
}

// Newest first: a restart requested, then its drain step reported.
inline eroom::monitor::v1::ListAuditResponse AuditTrail() {
  return ParseTextProto<eroom::monitor::v1::ListAuditResponse>(R"pb(
    records {
      time_unix_ms: 1749999982300
      actor: "agent"
      agent_id: "a1b2c3"
      action: "safe_restart"
      parameters: "drain_timeout=10m force=false"
      result: "RUNNING: [drain] active 1, queued 0"
      command_id: "c0ffee09"
    }
    records {
      time_unix_ms: 1749999970000
      actor: "alice"
      agent_id: "a1b2c3"
      action: "safe_restart"
      parameters: "drain_timeout=10m force=false"
      result: "requested"
      command_id: "c0ffee09"
    }
  )pb");
}

// The final step of log housekeeping: one log compressed, one archive
// deleted, the active file skipped.
inline eroom::monitor::v1::CommandProgress HousekeepingDone() {
  return ParseTextProto<eroom::monitor::v1::CommandProgress>(R"pb(
    state: SUCCEEDED
    step: "done"
    message: "1 compressed, 1 deleted"
    time_unix_ms: 1749999940800
    housekeeping {
      actions {
        kind: COMPRESS
        path: "logs/eroom.log.2025-06-01"
        target: "logs/archive/eroom.log.2025-06-01.gz"
        bytes_before: 1048576
        bytes_after: 131072
      }
      actions {
        kind: DELETE_ARCHIVE
        path: "logs/archive/eroom.log.2025-05-01.gz"
        bytes_before: 262144
        reason: "older than 30d"
      }
      bytes_freed: 1179648
      skipped { kind: SKIP path: "logs/eroom.log" reason: "active file" }
    }
  )pb");
}

// Most severe first, as the collector sends them: health_down firing on
// prod-1 for 5 minutes, acknowledged; disk_full pending for a minute with a
// summary that tries to drive the terminal.
inline eroom::monitor::v1::ListAlertsResponse ActiveAlerts() {
  return ParseTextProto<eroom::monitor::v1::ListAlertsResponse>(R"pb(
    alerts {
      id: 12
      rule: "health_down"
      agent_id: "a1b2c3"
      state: ALERT_FIRING
      severity: SEVERITY_CRITICAL
      labels { key: "alertname" value: "health_down" }
      summary: "/health failed 3 times in a row"
      value: 3
      pending_since_unix_ms: 1749999640000
      firing_since_unix_ms: 1749999700000
      acknowledged_by: "alice"
      ack_comment: "restarting ERoom"
      acknowledged_unix_ms: 1749999900000
    }
    alerts {
      id: 14
      rule: "disk_full"
      agent_id: "a1b2c3"
      state: ALERT_PENDING
      severity: SEVERITY_WARNING
      summary: "\x1b[31m/data 93.5% used"
      value: 93.5
      pending_since_unix_ms: 1749999940000
    }
  )pb");
}

// Newest first: health_down resolved a minute ago, fired 5 minutes ago
// while its host was down.
inline eroom::monitor::v1::ListAlertsResponse AlertHistory() {
  return ParseTextProto<eroom::monitor::v1::ListAlertsResponse>(R"pb(
    history {
      time_unix_ms: 1749999940000
      state: ALERT_RESOLVED
      alert {
        id: 12
        rule: "health_down"
        agent_id: "a1b2c3"
        severity: SEVERITY_CRITICAL
        summary: "/health answers again"
        value: 0
      }
    }
    history {
      time_unix_ms: 1749999700000
      state: ALERT_FIRING
      inhibited: true
      alert {
        id: 12
        rule: "health_down"
        agent_id: "a1b2c3"
        severity: SEVERITY_CRITICAL
        summary: "/health failed 3 times in a row"
        value: 3
      }
    }
  )pb");
}

// Oldest first: one ending in 2 hours, one expired early 5 minutes ago.
inline eroom::monitor::v1::ListSilencesResponse TwoSilences() {
  return ParseTextProto<eroom::monitor::v1::ListSilencesResponse>(R"pb(
    silences {
      id: 3
      matchers: "host=eroom-prod-2"
      comment: "decommissioning"
      created_by: "oscar"
      starts_unix_ms: 1749990000000
      ends_unix_ms: 1749999700000
      expired_by: "bob"
    }
    silences {
      id: 7
      matchers: "host=eroom-prod-1"
      matchers: "alertname=~disk.*"
      comment: "disk swap tonight"
      created_by: "alice"
      starts_unix_ms: 1750000000000
      ends_unix_ms: 1750007200000
    }
  )pb");
}

// health_down with its alert on prod-1; error_lines never evaluated yet.
inline eroom::monitor::v1::ListRulesResponse TwoRules() {
  eroom::monitor::v1::ListRulesResponse response =
      ParseTextProto<eroom::monitor::v1::ListRulesResponse>(R"pb(
        rules {
          name: "health_down"
          kind: "threshold"
          severity: SEVERITY_CRITICAL
          last_evaluated_unix_ms: 1749999998000
        }
        rules {
          name: "error_lines"
          kind: "log_match"
          severity: SEVERITY_WARNING
          last_error: "no events yet"
        }
      )pb");
  *response.mutable_rules(0)->add_active() = ActiveAlerts().alerts(0);
  return response;
}

}  // namespace eroom::cli::testing

#endif  // EROOM_TESTS_UNIT_CLI_TEST_PROTOS_H_
