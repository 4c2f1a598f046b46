// The worker loop: ask rank 0 for a unit, run it through a UnitExecutor,
// append its rows to this worker's shard (flushed before reporting), report
// the summary, repeat; on Stop, close (rename) the shard and say so.
// Errors inside a unit are caught here — the unit boundary — and reported as
// a failed unit; the worker goes on. Torch-free. One thread.
#ifndef EFFROBUST_WORKERS_WORKER_LOOP_H_
#define EFFROBUST_WORKERS_WORKER_LOOP_H_

#include <map>
#include <string>

#include "orchestrator/plan.h"
#include "orchestrator/protocol.h"
#include "orchestrator/transport.h"
#include "results/shard.h"

namespace effrobust {

class UnitExecutor {
 public:
  struct Output {
    RowRange rows;
    std::map<std::string, double> metrics;
  };
  virtual ~UnitExecutor() = default;

  // Runs `unit` and appends its rows to `shard` (ShardWriter::Append flushes).
  // Throws on failure; rows are appended only once the unit has fully run.
  virtual Output Execute(const WorkUnit& unit, const RunOptions& options,
                         ShardWriter& shard) = 0;

  // The model currently loaded ("" if none), for model-affine scheduling.
  virtual std::string held_model() const = 0;
};

struct WorkerIdentity {
  int report_rank = 0;  // rank recorded in results and shard names
  std::string host;
};

// Runs until Stop. Throws only on transport failures.
void RunWorker(Transport& transport, UnitExecutor& executor,
               const WorkerIdentity& identity);

// This machine's host name.
std::string HostName();

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_WORKER_LOOP_H_
