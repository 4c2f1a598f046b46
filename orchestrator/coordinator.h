// The coordinator loop run by rank 0: answers workers' Ready/Result messages
// with units from the Scheduler, commits each finished unit to the index
// (only after the worker has flushed its rows), prints progress, and at the
// end stops every worker and waits for its shard to be closed. Rank 0 does
// no model work. One thread.
#ifndef EFFROBUST_ORCHESTRATOR_COORDINATOR_H_
#define EFFROBUST_ORCHESTRATOR_COORDINATOR_H_

#include <string>
#include <vector>

#include "orchestrator/plan.h"
#include "orchestrator/protocol.h"
#include "orchestrator/transport.h"
#include "results/index.h"

namespace effrobust {

struct CoordinatorOptions {
  double heartbeat_s = 30;  // Default: progress line at least every 30 s
  bool quiet = false;       // Default: false (progress on stderr)
};

struct CoordinatorResult {
  size_t done = 0;
  size_t failed = 0;
  size_t duplicates = 0;  // reports that did not match a lease (dropped)
  double seconds = 0;
  std::vector<std::string> shards;  // closed shard files
};

// Runs `units` on the workers at ranks 1..size-1. Every worker must send
// Ready first and ShardClosed last. Throws OrchestratorError if the
// transport has no worker ranks or on protocol violations.
CoordinatorResult Coordinate(Transport& transport, ResultIndex& index,
                             const std::vector<WorkUnit>& units,
                             const RunOptions& options,
                             const CoordinatorOptions& coordinator_options);

// Tells every worker (ranks 1..size-1) to stop without work and waits up to
// `timeout_s` for each to confirm, so a run that fails before it starts
// (bad spec, missing model) ends every rank cleanly instead of aborting.
void StopWorkers(Transport& transport, double timeout_s = 60);

// "12/40 units (1 failed) | 0.53 units/s | ETA 52s" for progress output.
std::string ProgressLine(size_t finished, size_t failed, size_t total,
                         double elapsed_s);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_COORDINATOR_H_
