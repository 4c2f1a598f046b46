// The result index: the run's SQLite database (RUN_DIR/index.sqlite), written
// by rank 0 only. Tables (docs/results-format.md):
//   runs(run_id, name, config_text, config_hash, git_commit, torch_version,
//        host, ranks, started_at, ended_at, status)
//   units(unit_id PK, run_id, model, dataset, split, sample_begin,
//         sample_end, attack, params_json, seed, spec_json, status,
//         attempts, failures, interruptions, worker_rank, host, started_at,
//         finished_at, wall_seconds,
//         shard_file, row_begin, row_end, summary_json, error)
//   metrics(unit_id, name, value)   -- one row per summary metric
//   models(name PK, path, arch, dataset, metadata_json, registered_at)
// Unit status values: "pending", "running", "done", "failed". attempts counts
// every lease; failures only errors inside the unit (the retry budget);
// interruptions stops that were not the unit's fault (drain, lost lease,
// crash of the run).
// Run status values: "running", "finished", "failed" (some units failed),
// "drained" (stopped by a signal with units left), "interrupted" (the
// process died; found by the next run).
//
// Thread-safety: one ResultIndex per thread. Readers (OpenReadOnly/RunQuery)
// use separate read-only connections and do not block the writer (WAL).
#ifndef EFFROBUST_RESULTS_INDEX_H_
#define EFFROBUST_RESULTS_INDEX_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace effrobust {

struct RunRecord {
  int64_t run_id = 0;  // assigned by BeginRun
  std::string name;
  std::string config_text;
  std::string config_hash;
  std::string git_commit;
  std::string torch_version;
  std::string host;
  int ranks = 1;
  std::string slurm_job_id;     // "" outside Slurm
  int slurm_restart_count = 0;  // SLURM_RESTART_COUNT (requeues)
  double started_at = 0;  // wall seconds
  double ended_at = 0;
  std::string status;  // "running", "finished", "failed"
};

// The planned description of a unit (what the coordinator knows up front).
struct UnitPlan {
  std::string unit_id;
  std::string model;
  std::string dataset;
  std::string split;
  int64_t sample_begin = 0;
  int64_t sample_end = 0;
  std::string attack;
  std::string params_json;
  int64_t seed = 0;
  std::string spec_json;  // canonical text the id hashes
};

// What a worker reports for a finished unit.
struct UnitCompletion {
  std::string unit_id;
  int64_t run_id = 0;
  int worker_rank = 0;
  std::string host;
  std::string device;
  std::string device_name;
  double started_at = 0;
  double finished_at = 0;
  double wall_seconds = 0;
  std::string shard_file;  // relative to the run directory
  int64_t row_begin = 0;
  int64_t row_end = 0;
  std::map<std::string, double> metrics;
};

// A unit as stored (plan + status + completion fields).
struct UnitRecord {
  UnitPlan plan;
  std::string status;
  int attempts = 0;
  int failures = 0;
  int interruptions = 0;
  int64_t run_id = 0;
  int worker_rank = -1;
  std::string host;
  double started_at = 0;
  double finished_at = 0;
  double wall_seconds = 0;
  std::string shard_file;
  int64_t row_begin = 0;
  int64_t row_end = 0;
  std::map<std::string, double> metrics;
  std::string error;
};

struct ModelRecord {
  std::string name;
  std::string path;
  std::string arch;
  std::string dataset;
  std::string metadata_json;
};

class ResultIndex {
 public:
  virtual ~ResultIndex() = default;

  // Inserts a run row with status "running"; returns its run_id.
  virtual int64_t BeginRun(const RunRecord& run) = 0;
  virtual void EndRun(int64_t run_id, const std::string& status,
                      double ended_at) = 0;

  // Inserts or replaces the model row.
  virtual void RegisterModel(const ModelRecord& model) = 0;

  // Inserts units not yet present with status "pending" (one transaction).
  // Units already present keep their status and results.
  virtual void PlanUnits(int64_t run_id, const std::vector<UnitPlan>& units) = 0;

  // Ids of units whose status is "done".
  virtual std::set<std::string> DoneUnits() = 0;

  // status "running", attempts += 1, worker_rank/host/run_id/started_at set.
  virtual void MarkRunning(const std::string& unit_id, int64_t run_id,
                           int worker_rank, const std::string& host,
                           double started_at) = 0;

  // In one transaction: status "done", completion fields, summary_json and
  // the metrics rows (replacing earlier metrics of this unit).
  // Throws ResultsError if the unit is unknown.
  virtual void CommitUnit(const UnitCompletion& done) = 0;

  // An error inside the unit: failures += 1, the error text kept, status
  // "pending" when it will be retried, else "failed".
  virtual void RecordFailure(const std::string& unit_id,
                             const std::string& error, bool retry) = 0;

  // A running unit was stopped through no fault of its own (drain, lost
  // lease): status "pending", interruptions += 1. No-op unless running.
  virtual void RecordInterruption(const std::string& unit_id) = 0;

  // After a crash: units left "running" become "pending" (interruptions
  // += 1) and runs left "running" become "interrupted" (ended_at = now).
  // Returns the number of units recovered. Call before a new run begins.
  virtual int64_t RecoverInterrupted(double now) = 0;

  // Returns units with status "done" to "pending" (they will be redone), used
  // when their shard is missing. Does not delete metrics or files.
  virtual void MarkPending(const std::string& unit_id) = 0;

  // All units, ordered by model, dataset, sample_begin, attack, params.
  virtual std::vector<UnitRecord> Units() = 0;

  // All runs in run_id order.
  virtual std::vector<RunRecord> Runs() = 0;

  virtual std::vector<ModelRecord> Models() = 0;
};

// Opens (creating if needed) the database at `path` for writing: WAL,
// synchronous=NORMAL, schema created if absent. Throws ResultsError naming
// the path on failure.
std::unique_ptr<ResultIndex> OpenSqliteIndex(const std::string& path);

// Opens an existing database read-only (no schema changes, no writes).
// Throws ResultsError if it does not exist.
std::unique_ptr<ResultIndex> OpenSqliteIndexReadOnly(const std::string& path);

// Result of an ad-hoc SQL query: column names and rows of text (NULL as "").
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// Runs `sql` on a read-only connection (SQLITE_OPEN_READONLY): statements
// that write fail with ResultsError carrying SQLite's message.
QueryResult RunQuery(const std::string& db_path, const std::string& sql);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_INDEX_H_
