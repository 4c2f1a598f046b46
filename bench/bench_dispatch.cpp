// Coordinator dispatch rate: rank 0 hands out trivial units (each appends one
// row to the worker's HDF5 shard and is committed to SQLite) as fast as the
// protocol allows. Run: mpirun --oversubscribe -np 4 build/bench/bench_dispatch [UNITS]
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/log.h"
#include "orchestrator/coordinator.h"
#include "orchestrator/experiment.h"
#include "orchestrator/mpi_transport.h"
#include "workers/worker_loop.h"

namespace effrobust {
namespace {

class TrivialExecutor : public UnitExecutor {
 public:
  Output Execute(const WorkUnit& unit, const RunOptions&, ShardWriter& shard,
                 UnitContext& context) override {
    context.Checkpoint();
    RowBatch rows;
    rows.AddInt("sample_index", {unit.begin});
    Output out;
    out.rows = shard.Append(unit.id, rows);
    out.metrics["samples"] = 1;
    return out;
  }
  std::string held_model() const override { return "bench"; }
};

int Main(int argc, char** argv) {
  const int units_wanted = argc > 1 ? std::atoi(argv[1]) : 2000;
  MpiSession mpi(&argc, &argv);
  auto t = mpi.WorldTransport();
  SetLogQuiet(true);
  if (t->rank() != 0) {
    TrivialExecutor exec;
    RunWorker(*t, exec, {t->rank(), HostName()});
    return 0;
  }
  char tmpl[] = "/tmp/effrobust-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::filesystem::create_directories(dir + "/shards");
  ExperimentSpec spec = ParseSpec(
      "name: bench\nmodels: [{name: bench, path: none}]\n"
      "datasets: [{name: fashion-mnist, split: train, range: [0, " + std::to_string(units_wanted) +
          "], shard_size: 1}]\nattacks: [{name: clean}]\n",
      "bench.yaml");
  auto units = ExpandUnits(spec, {{"bench", "0"}});
  auto index = OpenSqliteIndex(dir + "/index.sqlite");
  RunOptions options;
  options.run_id = index->BeginRun(RunRecord{});
  options.run_dir = dir;
  std::vector<UnitPlan> plans;
  for (const auto& u : units) plans.push_back(u.ToPlan());
  index->PlanUnits(options.run_id, plans);
  CoordinatorOptions co;
  co.quiet = true;
  CoordinatorResult r = Coordinate(*t, *index, units, options, co);
  std::printf("bench_dispatch: %d ranks (%d workers), %zu trivial units in %.2f s = %.0f units/s "
              "(each: assign + 1-row HDF5 append/flush + SQLite commit)\n",
              t->size(), t->size() - 1, r.done, r.seconds, r.done / r.seconds);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace effrobust

int main(int argc, char** argv) { return effrobust::Main(argc, argv); }
