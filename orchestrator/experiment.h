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
  std::unique_ptr<ResultIndex> index;
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
// as pending again, and begins a run row. Bad input throws SpecError with
// the run directory untouched.
PreparedRun PrepareRun(const ExperimentSpec& spec, const RunEnvironment& env);

// Ends the run row ("finished" or "failed" if any unit failed) and prints
// a one-line summary.
void FinishRun(PreparedRun& run, const CoordinatorResult& result);

// Path of the index inside a run directory.
std::string IndexPath(const std::string& run_dir);

// Git commit of the checkout this binary was built from, "-dirty" if it has
// uncommitted changes ("unknown" outside a checkout).
std::string GitCommit();

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_EXPERIMENT_H_
