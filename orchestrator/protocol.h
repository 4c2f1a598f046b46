// The coordinator/worker protocol: message payloads as flat canonical JSON.
//   worker -> 0   Ready{held_model}
//   0 -> worker   Assign{unit fields, lease token, run options}
//   worker -> 0   Heartbeat{unit id, lease token}     (every heartbeat_s)
//   0 -> worker   Drain{}        (stop signal: finish within drain_grace_s)
//   worker -> 0   Result{unit id, lease token, done|failed|interrupted,
//                        error, shard, rows, device, timings, metrics}
//   0 -> worker   Stop{}
//   worker -> 0   ShardClosed{shard, rows}
// A worker holds at most one unit; a Result doubles as the next Ready.
// An idle worker may wait (parked) until a unit comes back or the run ends.
// Pure functions, thread-safe.
#ifndef EFFROBUST_ORCHESTRATOR_PROTOCOL_H_
#define EFFROBUST_ORCHESTRATOR_PROTOCOL_H_

#include <map>
#include <string>

#include "orchestrator/plan.h"
#include "orchestrator/spec.h"
#include "orchestrator/transport.h"

namespace effrobust {

// Run-wide settings a worker needs besides the unit.
struct RunOptions {
  int64_t run_id = 0;
  std::string experiment;   // the experiment's name (shard attribute)
  std::string config_hash;  // of the experiment file (shard attribute)
  std::string run_dir;
  MeasureSpec measure;
  std::string device = "auto";
  int threads = 0;
  int heartbeat_s = 30;    // Default: 30 s between heartbeats
  int drain_grace_s = 60;  // Default: 60 s to finish a unit after a drain
};

// How a unit attempt ended.
enum class UnitOutcome { kDone, kFailed, kInterrupted };
const char* UnitOutcomeName(UnitOutcome o);

struct UnitReport {
  std::string unit_id;
  int64_t token = 0;  // the lease this attempt ran under
  UnitOutcome outcome = UnitOutcome::kDone;
  std::string error;  // failed/interrupted: why
  int worker_rank = 0;  // MPI rank that ran it (0 in single-process runs)
  std::string host;
  std::string device;       // "cpu", "cuda:0"
  std::string device_name;  // CPU model or GPU name
  std::string held_model;
  std::string shard_file;  // relative to the run directory
  int64_t row_begin = 0;
  int64_t row_end = 0;
  double started_at = 0;
  double finished_at = 0;
  double wall_seconds = 0;
  std::map<std::string, double> metrics;
};

struct ShardClosed {
  // Shards the worker closed (none if it never opened one): one per model it
  // ran, as models of different families write different columns.
  std::vector<std::string> shard_files;
  int64_t rows = 0;  // rows over all of them
  std::string held_model;
};

Message ReadyMessage(const std::string& held_model);
std::string ParseReady(const Message& m);

Message AssignMessage(const WorkUnit& unit, int64_t token, const RunOptions& options);
void ParseAssign(const Message& m, WorkUnit* unit, int64_t* token, RunOptions* options);

struct HeartbeatInfo {
  std::string unit_id;
  int64_t token = 0;
};
Message HeartbeatMessage(const HeartbeatInfo& beat);
HeartbeatInfo ParseHeartbeat(const Message& m);

Message DrainMessage();

// What the index stores of a unit that finished (outcome kDone) in run
// `run_id`.
UnitCompletion CompletionOf(const UnitReport& report, int64_t run_id);

Message ResultMessage(const UnitReport& report);
UnitReport ParseResult(const Message& m);

Message StopMessage();

Message ShardClosedMessage(const ShardClosed& closed);
ShardClosed ParseShardClosed(const Message& m);

// Name of a worker's shard for a run: "shards/run0003-rank002.h5".
// Part 0 is "shards/runRRRR-rankKKK.h5"; part p > 0 adds "-p<p+1>" before
// ".h5" (a worker's shard for its second, third... model).
std::string ShardFileName(int64_t run_id, int rank, int part = 0);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_PROTOCOL_H_
