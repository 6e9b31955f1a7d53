#ifndef EROOM_COLLECTOR_INGEST_RULES_H_
#define EROOM_COLLECTOR_INGEST_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "collector/stored_batch.h"

namespace eroom::collector {

// Each agent's highest stored sequence, as the ingest thread knows it.
using StoredSequences = absl::flat_hash_map<std::string, uint64_t>;

// Decides what storing the batches `received` at `now` means, given each
// agent's highest stored sequence in `stored` (an agent missing from it has
// none). An event is new if its sequence is above every sequence stored or
// received before it from its agent; the others are redelivered (the agent
// resends what it has no Ack for) or out of order, and are left out, so
// storing is idempotent. A new event that does not follow its predecessor
// is a gap, reported. Metrics are derived from new samples, probes and
// notices (common/metric_catalog.h); an event of a kind this code predates
// is new (its sequence counts, so the agent does not resend it forever) but
// yields nothing. Command progress is not decided here.
StoredBatch BuildStoredBatch(std::vector<AgentBatch> received,
                             const StoredSequences& stored, absl::Time now);

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_INGEST_RULES_H_
