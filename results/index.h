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
// Columns added after the first release (added with ALTER TABLE when an
// older database is opened for writing; read as empty/0 when absent):
//   runs.slurm_job_id, runs.slurm_restart_count, units.device,
//   units.device_name.
//
// Journal: WAL on a local filesystem, a rollback journal (DELETE) on a
// network or cluster filesystem (results/sqlite_journal.h). Every connection,
// reader or writer, waits up to kIndexBusyTimeoutMs for a lock instead of
// failing with "database is locked".
//
// Thread-safety: one ResultIndex per thread. Readers (OpenReadOnly/RunQuery)
// use separate read-only connections; there is one writer (rank 0).
#ifndef EFFROBUST_RESULTS_INDEX_H_
#define EFFROBUST_RESULTS_INDEX_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "results/sqlite_journal.h"

namespace effrobust {

// How long any connection waits for a lock held by another before giving up.
constexpr int kIndexBusyTimeoutMs = 30000;

struct RunRecord {
  int64_t run_id = 0;  // assigned by BeginRun unless set (see BeginRun)
  std::string name;
  std::string config_text;
  std::string config_hash;
  std::string git_commit;
  std::string torch_version;
  std::string host;
  int ranks = 1;
  double started_at = 0;  // wall seconds
  double ended_at = 0;
  std::string status;  // "running", "finished", "failed", "drained", "interrupted", "rebuilt"
  std::string slurm_job_id;     // $SLURM_JOB_ID of the run ("" outside Slurm)
  int slurm_restart_count = 0;  // $SLURM_RESTART_COUNT (requeues), 0 if unset
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
  // Checkpoint path the unit runs. Carried in the shards' unit records so
  // that `effrobust index rebuild` can find the model's metadata; not a
  // units column (models.path holds it) and "" in what Units() returns.
  std::string model_path;
};

// What a worker reports for a finished unit.
struct UnitCompletion {
  std::string unit_id;
  int64_t run_id = 0;
  int worker_rank = 0;
  std::string host;
  double started_at = 0;
  double finished_at = 0;
  double wall_seconds = 0;
  std::string shard_file;  // relative to the run directory
  int64_t row_begin = 0;
  int64_t row_end = 0;
  std::map<std::string, double> metrics;
  std::string device;       // torch device that ran it ("cpu", "cuda:0"; "" unknown)
  std::string device_name;  // e.g. the GPU model ("" unknown)
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
  std::string device;
  std::string device_name;
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

  // Inserts a run row with status "running"; returns its run_id: the next
  // free id, or run.run_id if it is > 0 (used to rebuild an index with the
  // shards' run ids; throws ResultsError if that id exists).
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

// Opens (creating if needed) the database at `path` for writing: schema
// created if absent, missing columns added, journal mode chosen by
// ChooseJournalMode for the directory holding `path` (WAL with
// synchronous=NORMAL, or DELETE with synchronous=FULL) and logged with the
// reason. The first form takes the setting from EFFROBUST_SQLITE_JOURNAL.
// Throws ResultsError naming the path on failure.
std::unique_ptr<ResultIndex> OpenSqliteIndex(const std::string& path);
std::unique_ptr<ResultIndex> OpenSqliteIndex(const std::string& path, JournalSetting journal);

// Opens an existing database read-only (no schema changes, no writes).
// Throws ResultsError if it does not exist.
std::unique_ptr<ResultIndex> OpenSqliteIndexReadOnly(const std::string& path);

// Result of an ad-hoc SQL query: column names and rows of text (NULL as "").
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// A statement refused by RunQuery before it ran because it would write to
// the index, attach or detach a database, or change a setting. It is bad user
// input (a SpecError: the command line exits with code 2).
class ReadOnlyQueryError : public SpecError {
 public:
  using SpecError::SpecError;
};

// Runs one statement `sql` on a read-only connection (SQLITE_OPEN_READONLY,
// query_only). Only statements that read are run: anything that would
// modify the database (INSERT, UPDATE, DELETE, REPLACE, CREATE, DROP, ALTER,
// VACUUM, ANALYZE, REINDEX, writing PRAGMAs), ATTACH/DETACH and PRAGMAs that
// set a value are refused after preparing and before executing, with
// ReadOnlyQueryError. Other failures (syntax, missing file, more than one
// statement) throw ResultsError carrying SQLite's message.
QueryResult RunQuery(const std::string& db_path, const std::string& sql);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_INDEX_H_
