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
#include "orchestrator/preflight.h"
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
  PreflightOptions checks;  // model loading hook and data directory
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

// Plans the spec without side effects: checks the run directory
// (CheckRunDirectory), the dataset files (CheckDatasetFiles), each model file
// (CheckModelFile with `checks.validate_model`) and its metadata, reads the
// model hashes and expands the units; nothing is written. Throws SpecError
// (bad spec, missing data or model file, model that does not load, output
// directory of another experiment, more than kMaxUnits units).
std::vector<WorkUnit> PlanExperiment(const ExperimentSpec& spec,
                                     const PreflightOptions& checks = {});

// Plans (PlanExperiment with env.checks) and verifies the shards of done
// units (CheckDoneShards) before writing anything; then creates RUN_DIR
// (spec.output) and RUN_DIR/shards, opens RUN_DIR/index.sqlite, registers the
// models, inserts the planned units, marks units whose shard file is missing
// (or left as .tmp) as pending again, takes the run lock, recovers what a
// crashed run left "running", and begins a run row (with SLURM_JOB_ID /
// SLURM_RESTART_COUNT under Slurm). Bad input throws SpecError with the run
// directory untouched.
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
// uncommitted changes ("unknown" outside a checkout). Asked once per process
// (two `git` runs) and remembered: every shard a worker opens records it.
std::string GitCommit();

// The Slurm job this process runs in, for provenance in runs rows and shard
// attributes: $SLURM_JOB_ID ("" outside Slurm) and $SLURM_RESTART_COUNT
// (times the job was requeued; 0 when unset or not a number).
struct SlurmProvenance {
  std::string job_id;
  int restart_count = 0;
};
SlurmProvenance SlurmFromEnvironment();

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_EXPERIMENT_H_
