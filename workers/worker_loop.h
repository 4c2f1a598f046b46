// The worker loop: ask rank 0 for a unit, run it through a UnitExecutor,
// append its rows to this worker's shard (flushed before reporting), report
// the summary, repeat; on Stop, close (rename) the shard and say so.
// Errors inside a unit are caught here — the unit boundary — and reported as
// a failed unit; the worker goes on. While a unit runs, the executor calls
// UnitContext::Checkpoint() between batches, and the attacks' iteration loops
// call ReportProgress() (common/progress.h), which the worker turns into a
// checkpoint at most every 0.1 s: heartbeats go out and a drain (from rank 0
// or a stop signal to this process) is noticed; once the drain grace has
// passed the unit is abandoned and reported interrupted.
// Torch-free. One thread.
#ifndef EFFROBUST_WORKERS_WORKER_LOOP_H_
#define EFFROBUST_WORKERS_WORKER_LOOP_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "orchestrator/plan.h"
#include "orchestrator/protocol.h"
#include "orchestrator/transport.h"
#include "results/shard.h"

namespace effrobust {

// What an executor sees of the worker while it runs a unit.
class UnitContext {
 public:
  virtual ~UnitContext() = default;
  // Call between batches (at least every few seconds of work): sends a
  // heartbeat when one is due and throws UnitInterrupted when the unit must
  // be abandoned (drain grace over). Cheap when nothing is due.
  virtual void Checkpoint() = 0;
};

class UnitExecutor {
 public:
  struct Output {
    RowRange rows;
    std::map<std::string, double> metrics;
    std::string device;       // "cpu", "cuda:1"
    std::string device_name;  // CPU model or GPU name
  };
  virtual ~UnitExecutor() = default;

  // Runs `unit` and appends its rows to `shard` (ShardWriter::Append flushes).
  // Throws on failure; rows are appended only once the unit has fully run,
  // so a unit abandoned through `context` leaves no rows.
  virtual Output Execute(const WorkUnit& unit, const RunOptions& options,
                         ShardWriter& shard, UnitContext& context) = 0;

  // The model currently loaded ("" if none), for model-affine scheduling.
  virtual std::string held_model() const = 0;
};

struct WorkerIdentity {
  int report_rank = 0;  // rank recorded in results and shard names
  std::string host;
};

// Runs until Stop. Throws only on transport failures.
// Test hook: EFFROBUST_TEST_FAULT="ATTACK@RANK" (RANK may be "*") makes units
// of that attack fail on that worker rank with an injected error, to
// exercise retries end to end; unset in normal runs.
// `open_shard` creates this worker's shards (CreateHdf5Shard in runs; the
// coordinator simulation, bench/bench_coordinator_sim.cpp, keeps rows in
// memory because 1024 in-process workers would share one HDF5 library).
using ShardOpener = std::function<std::unique_ptr<ShardWriter>(const std::string& final_path,
                                                               const ShardAttributes& attrs)>;
void RunWorker(Transport& transport, UnitExecutor& executor, const WorkerIdentity& identity,
               const ShardOpener& open_shard = CreateHdf5Shard);

// This machine's host name.
std::string HostName();

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_WORKER_LOOP_H_
