// Running an experiment from rank 0's side: prepare the run directory and
// index (models registered, units planned, done units skipped), coordinate
// the workers, and close the run. Torch-free.
#ifndef EFFROBUST_ORCHESTRATOR_EXPERIMENT_H_
#define EFFROBUST_ORCHESTRATOR_EXPERIMENT_H_

#include <memory>
#include <string>
#include <vector>

#include "orchestrator/coordinator.h"
#include "orchestrator/plan.h"
#include "orchestrator/protocol.h"
#include "orchestrator/run_lock.h"
#include "orchestrator/spec.h"
#include "results/index.h"

namespace effrobust {

struct RunEnvironment {
  int ranks = 1;
  std::string torch_version;
  std::string host;
  bool quiet = false;
};

struct PreparedRun {
  std::vector<WorkUnit> all;   // every unit of the spec
  std::vector<WorkUnit> todo;  // units not yet done
  RunOptions options;
  PolicySpec policy;
  std::unique_ptr<RunLock> lock;  // held for the whole run
  std::unique_ptr<ResultIndex> index;
};

// Exit codes of `effrobust run` (docs/operations.md).
enum RunExitCode : int {
  kExitDone = 0,           // every unit done
  kExitError = 1,          // internal or runtime error
  kExitBadInput = 2,       // bad input: nothing ran
  kExitUnitsFailed = 3,    // finished, but some units failed every retry
  kExitDrained = 4,        // stopped by a signal with units left: run again
};

// Plans the spec without side effects: model hashes are read, nothing is
// written. Throws SpecError (missing model file, bad metadata, bad spec).
std::vector<WorkUnit> PlanExperiment(const ExperimentSpec& spec);

// Creates RUN_DIR (spec.output) and RUN_DIR/shards, takes the run lock,
// opens RUN_DIR/index.sqlite, recovers what a crashed run left "running",
// registers the models, inserts the planned units, marks units whose shard
// file is missing (or left as .tmp) as pending again, and begins a run row
// (with SLURM_JOB_ID / SLURM_RESTART_COUNT when under Slurm).
PreparedRun PrepareRun(const ExperimentSpec& spec, const RunEnvironment& env);

// Ends the run row ("finished", "failed" if any unit failed, "drained" if
// stopped with units left), prints a one-line summary and returns the exit
// code (RunExitCode).
int FinishRun(PreparedRun& run, const CoordinatorResult& result);

// Coordinator options from the spec's policy section.
CoordinatorOptions CoordinatorOptionsFor(const PreparedRun& run, bool quiet);

// Path of the index inside a run directory.
std::string IndexPath(const std::string& run_dir);

// Git commit of the checkout this binary was built from, "-dirty" if it has
// uncommitted changes ("unknown" outside a checkout).
std::string GitCommit();

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_EXPERIMENT_H_
