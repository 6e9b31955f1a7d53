#ifndef EROOM_COLLECTOR_ALERTING_RULE_ENGINE_H_
#define EROOM_COLLECTOR_ALERTING_RULE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/alerting/alert.h"
#include "collector/alerting/alert_rule.h"
#include "collector/stored_batch.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector::alerting {

// Evaluates the rules against what is stored, as it is stored, and against
// time (absence, rooms still running, `for`, keep_firing_for). No threads
// and no clock of its own: the rule thread (collector/alerting/alerting.h)
// feeds it and passes the time, so tests drive it with any time they like.
// Every method appends the alert changes it caused to `events`, in order.
//
// Time is the collector's: points and events count at `batch.received`, so
// agents' clocks and log time zones do not matter. Every kind evaluates
// each of its alerts at most once per call, so a burst of 500 matching
// events in one batch is one change with a count of 500, and a firing alert
// gets at most one kUpdated per OnStored (changes that only time makes, a
// running room or an absence growing longer, update the alert silently).
//
// A pending alert fires once `for` passed with its condition seen holding
// at the last evaluation; one that is not evaluated (too few points, a
// ratio below min_denominator) waits. A rule whose regex does not compile
// or that lacks a condition is inert, and Status() says why.
//
// Alerts are labelled as alert.h says, threshold alerts also with their
// series' labels; a rule without a summary gets "{{rule}} on {{host}}:
// {{value}}". Per kind:
//   threshold  one alert per host and series (group: the series' labels,
//              "mount=/"); a series without a point for its window or 5 min,
//              whichever is longer, has no value (its alert resolves); one
//              with too few points is not evaluated.
//   ratio      value in percent; not evaluated below min_denominator.
//   absence    value: the seconds since data was last seen; counted from
//              when the engine first heard of the host (a restarted
//              collector waits `after` for hosts to come back).
//   log_match  value: the count in the window; the alert's count: matching
//              events since it became pending. Resolves from Tick once the
//              window slid past them. Event windows (ratio too) count in
//              buckets of 1/60 of the window, so events leave them up to that
//              late.
//   room_duration  group: the ruid. processing and queue_wait are facts of
//              a room: they fire at once (no `for`), each room once, and
//              resolve at the next Tick after keep_firing_for. running fires
//              from Tick while the room runs and resolves at its outcome (or
//              when ERoom restarts, which ends every run).
class RuleEngine {
 public:
  explicit RuleEngine(RuleSet rules);
  ~RuleEngine();
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // A reload: alerts of rules that kept their name carry on with the new
  // definition; alerts of removed rules resolve.
  void SetRules(RuleSet rules, absl::Time now, std::vector<AlertEvent>* events);
  // Alerts that were pending or firing when the collector stopped: they
  // carry on without being reported again.
  void Restore(const std::vector<Alert>& active);

  // A hello: a sign of life, and the host's name for its alerts' `host`
  // label.
  void OnHostRegistered(const eroom::monitor::v1::AgentHello& hello,
                        absl::Time at, std::vector<AlertEvent>* events);
  // Changes nothing by itself: a host is absent once nothing came from it
  // for an absence rule's `after`, whether its stream ended or hangs.
  void OnHostDisconnected(const std::string& agent_id, absl::Time at,
                          std::vector<AlertEvent>* events);
  // Events, metrics and host progress of one committed transaction;
  // `batch.received` is the time.
  void OnStored(const StoredBatch& batch, std::vector<AlertEvent>* events);
  // Conditions of time: `for` elapsed, absence, rooms running too long,
  // windows that slid past their events.
  void Tick(absl::Time now, std::vector<AlertEvent>* events);

  // The engine's id for an alert is the store's: the rule thread sets it
  // once the first save returned it.
  void SetAlertId(const AlertKey& key, int64_t id);

  std::vector<RuleStatus> Status() const;

  // What the bounds on memory made the engine forget: running rooms beyond
  // 64 per host (the oldest is forgotten), and matching events of a new
  // message shape once a host has 256 shapes of a rule in its windows.
  struct Dropped {
    uint64_t rooms = 0;
    uint64_t shape_events = 0;
  };
  Dropped dropped() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_RULE_ENGINE_H_
