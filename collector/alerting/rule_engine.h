#ifndef EROOM_COLLECTOR_ALERTING_RULE_ENGINE_H_
#define EROOM_COLLECTOR_ALERTING_RULE_ENGINE_H_

#include <map>
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
class RuleEngine {
 public:
  explicit RuleEngine(RuleSet rules);

  // A reload: alerts of rules that kept their name carry on with the new
  // definition; alerts of removed rules resolve.
  void SetRules(RuleSet rules, absl::Time now, std::vector<AlertEvent>* events);
  // Alerts that were pending or firing when the collector stopped: they
  // carry on without being reported again.
  void Restore(const std::vector<Alert>& active);

  void OnHostRegistered(const eroom::monitor::v1::AgentHello& hello,
                        absl::Time at, std::vector<AlertEvent>* events);
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
};

}  // namespace eroom::collector::alerting

#endif  // EROOM_COLLECTOR_ALERTING_RULE_ENGINE_H_
