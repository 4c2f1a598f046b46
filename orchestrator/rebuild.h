// Rebuilding a run directory's index from its HDF5 shards alone
// (`effrobust index rebuild`). Every finished unit left a completion record
// in its worker's shard (results/unit_record.h); the rebuild reads the
// records of the complete (renamed) shards and writes a fresh index through
// the ResultIndex interface. Torch-free; one thread.
//
// What comes back: every unit with a record (status "done", its shard, row
// range, metrics, host, times; attempts = records found for it), the runs
// that wrote shards (run id, git commit, Slurm job, ranks, first start and
// last finish of their units, status "rebuilt"; name, config, torch version
// and coordinator host are not in the shards and stay empty), and the models
// whose metadata file (checkpoint path + ".json") is readable. Units that
// were pending or failed are not in the shards; the next `effrobust run`
// plans them again.
#ifndef EFFROBUST_ORCHESTRATOR_REBUILD_H_
#define EFFROBUST_ORCHESTRATOR_REBUILD_H_

#include <cstdint>
#include <string>
#include <vector>

namespace effrobust {

struct RebuildReport {
  std::string index_path;               // the index written
  size_t shards = 0;                    // complete shards read
  size_t records = 0;                   // unit records read (valid ones)
  size_t units = 0;                     // units in the new index
  size_t duplicates = 0;                // records of a unit beyond the one kept
  std::vector<int64_t> runs;            // run ids in the new index
  std::vector<std::string> models;      // models registered
  std::vector<std::string> incomplete;  // "shards/x.h5.tmp" files, ignored
  std::vector<std::string> warnings;    // what was skipped and why
};

// Reads RUN_DIR/shards/*.h5 in name order and writes the index to
// `out_path` ("" means RUN_DIR/index.sqlite). The index is built under
// "<out_path>.rebuilding" and linked into place only when complete.
// When a unit has records in several shards (a unit run again), the one
// kept is, deterministically: the latest run's, then the first to finish,
// then the first by shard name and row.
// Never overwrites or deletes: throws SpecError (bad input) if `out_path` or
// "<out_path>.rebuilding" exists or RUN_DIR has no shards directory.
// Unreadable shards and records are skipped with a warning. Throws
// ResultsError/OrchestratorError on failures writing the new index (the
// partial "<out_path>.rebuilding" is left in place).
RebuildReport RebuildIndex(const std::string& run_dir, const std::string& out_path);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_REBUILD_H_
