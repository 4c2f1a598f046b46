// The coordinator loop run by rank 0: answers workers' Ready/Result messages
// with leases from the Scheduler, commits each finished unit to the index
// (only after the worker has flushed its rows; at most once per unit),
// retries failed units, re-queues the units of workers that stopped
// answering, prints progress, and at the end stops every worker and waits
// for its shard to be closed. On a stop request (signal) it drains: no new
// units, busy workers get drain_grace_s to finish or abandon, then it
// returns with `drained` set. Rank 0 does no model work. One thread.
#ifndef EFFROBUST_ORCHESTRATOR_COORDINATOR_H_
#define EFFROBUST_ORCHESTRATOR_COORDINATOR_H_

#include <functional>
#include <string>
#include <vector>

#include "orchestrator/plan.h"
#include "orchestrator/protocol.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/transport.h"
#include "results/index.h"

namespace effrobust {

struct CoordinatorOptions {
  double progress_s = 30;  // Default: progress line at least every 30 s
  bool quiet = false;      // Default: false (progress on stderr)
  SchedulerPolicy policy;  // Default: 2 retries, 600 s lease timeout
  double drain_grace_s = 60;  // Default: 60 s for busy workers to finish
  // Polled every loop; non-zero starts a drain (the signal number). Default
  // (empty): StopSignal() from common/stop_signal.h.
  std::function<int()> stop_requested;
};

struct CoordinatorResult {
  size_t done = 0;
  size_t failed = 0;        // units whose retry budget ran out
  size_t retried = 0;       // failures that were retried
  size_t interrupted = 0;   // attempts stopped by a drain or a lost lease
  size_t duplicates = 0;    // reports that did not match a lease (dropped)
  size_t left = 0;          // units neither done nor failed at the end
  bool drained = false;     // stopped early by a stop request
  int drain_signal = 0;
  std::vector<int> unresponsive;  // workers that never closed their shard
  double seconds = 0;
  std::vector<std::string> shards;  // closed shard files
};

// Runs `units` on the workers at ranks 1..size-1. Every worker must send
// Ready first and ShardClosed last. Returns when every worker has closed,
// or when the drain deadline has passed, or when only silent (lost)
// workers remain open after the last unit; those are listed in
// `unresponsive` and their shards stay under the temporary name. Throws
// OrchestratorError if the transport has no worker ranks or on protocol
// violations.
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
