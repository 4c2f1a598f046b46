// Coordinator simulation (issue 8 section 3): the real coordinator (rank 0's
// loop and a real SQLite index) drives N simulated workers (the real worker loop),
// threads over the in-process transport, that sleep for unit durations drawn
// from a real run's distribution (the wall_seconds of the done units in an
// index.sqlite), scaled to a chosen mean so that the run takes seconds. Each
// simulated unit then appends one row to its worker's shard, as a real unit
// appends its rows (kept in memory: see MemoryShard). Prints, per worker
// count, how busy the workers were:
//  * busy: time spent in units / (N x run time), the whole run including the
//    tail where the queue is empty and workers wait for the last units;
//  * steady: the same over [0, last assignment], while work was queued, which
//    is what the coordinator controls.
// With --trivial the units do not sleep and write real HDF5 shards: the
// figure is then the in-process dispatch rate (units/s) of the coordinator,
// each unit's 1-row append included. Asserts nothing.
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "common/log.h"
#include "orchestrator/coordinator.h"
#include "orchestrator/experiment.h"
#include "orchestrator/transport.h"
#include "results/index.h"
#include "workers/worker_loop.h"

namespace effrobust {
namespace {

constexpr char kUsage[] =
    "usage: bench_coordinator_sim --from INDEX.sqlite [--workers 64,256,1024]\n"
    "                             [--units-per-worker K] [--mean-s M] [--seed S]\n"
    "       bench_coordinator_sim --trivial [--workers 1,4,16,64] [--units U]\n"
    "  --from INDEX        index.sqlite of a real run: its done units' wall_seconds are the\n"
    "                      distribution unit durations are drawn from\n"
    "  --workers LIST      simulated worker counts (default 64,256,1024)\n"
    "  --units-per-worker  units per worker (default 8)\n"
    "  --mean-s M          durations are scaled so that their mean is M seconds (default 1)\n"
    "  --trivial           units take no time: prints the coordinator's dispatch rate\n"
    "  --units U           units of a --trivial run (default 4000)\n";

struct Interval {
  double begin, end;
};

// A worker's shard kept in memory. In a run every worker is its own process
// with its own HDF5 library; 1024 workers in one process share one, whose
// global ID table makes every flush visit the datasets of all 1024 open
// shards (H5I_iterate: half the CPU time of the simulation). bench_storage
// measures the HDF5 append itself.
class MemoryShard : public ShardWriter {
 public:
  explicit MemoryShard(std::string path) : final_(std::move(path)), temp_(final_ + ".tmp") {}
  RowRange Append(const std::string&, const RowBatch& rows) override {
    const int64_t begin = rows_;
    rows_ += static_cast<int64_t>(rows.rows());
    return {begin, rows_};
  }
  void AppendUnitRecord(const std::string&, const std::string& record) override {
    records_.push_back(record);
  }
  int64_t row_count() const override { return rows_; }
  void Close() override {}
  const std::string& final_path() const override { return final_; }
  const std::string& temp_path() const override { return temp_; }

 private:
  std::string final_, temp_;
  int64_t rows_ = 0;
  std::vector<std::string> records_;
};

std::unique_ptr<ShardWriter> OpenMemoryShard(const std::string& path, const ShardAttributes&) {
  return std::make_unique<MemoryShard>(path);
}

// Sleeps for the unit's drawn duration, then appends one row.
class SleepExecutor : public UnitExecutor {
 public:
  SleepExecutor(const std::vector<double>* durations, std::vector<Interval>* busy, double t0)
      : durations_(durations), busy_(busy), t0_(t0) {}

  Output Execute(const WorkUnit& unit, const RunOptions&, ShardWriter& shard,
                 UnitContext& context) override {
    const double begin = MonotonicSeconds() - t0_;
    const double d = durations_->empty() ? 0 : (*durations_)[unit.begin % durations_->size()];
    const double deadline = MonotonicSeconds() + d;
    while (true) {
      context.Checkpoint();
      const double left = deadline - MonotonicSeconds();
      if (left <= 0) break;
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, 1.0)));
    }
    busy_->push_back({begin, MonotonicSeconds() - t0_});
    RowBatch rows;
    rows.AddInt("sample_index", {unit.begin});
    Output out;
    out.rows = shard.Append(unit.id, rows);
    out.metrics["samples"] = 1;
    return out;
  }
  std::string held_model() const override { return "sim"; }

 private:
  const std::vector<double>* durations_;
  std::vector<Interval>* busy_;
  double t0_;
};

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

struct SimResult {
  size_t done = 0;
  double seconds = 0;
  double busy = 0;    // whole run
  double steady = 0;  // until the last assignment
  double last_assign = 0;
};

SimResult Simulate(int workers, int64_t total_units, const std::vector<double>& durations,
                   bool memory_shards) {
  char tmpl[] = "/tmp/effrobust-sim-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::filesystem::create_directories(dir + "/shards");
  ExperimentSpec spec = ParseSpec(
      "name: sim\nmodels: [{name: sim, path: none}]\n"
      "datasets: [{name: fashion-mnist, split: train, range: [0, " +
          std::to_string(total_units) + "], shard_size: 1}]\nattacks: [{name: clean}]\n",
      "sim.yaml");
  auto units = ExpandUnits(spec, {{"sim", "0"}});
  auto index = OpenSqliteIndex(dir + "/index.sqlite");
  RunOptions options;
  options.run_id = index->BeginRun(RunRecord{});
  options.run_dir = dir;
  std::vector<UnitPlan> plans;
  for (const auto& u : units) plans.push_back(u.ToPlan());
  index->PlanUnits(options.run_id, plans);

  InProcessHub hub(workers + 1);
  auto coordinator = hub.Endpoint(0);
  std::vector<std::vector<Interval>> busy(workers);
  const double t0 = MonotonicSeconds();
  std::vector<std::thread> threads;
  for (int w = 1; w <= workers; ++w) {
    threads.emplace_back([&, w] {
      auto t = hub.Endpoint(w);
      SleepExecutor exec(&durations, &busy[w - 1], t0);
      if (memory_shards) {
        RunWorker(*t, exec, {w, "sim"}, OpenMemoryShard);
      } else {
        RunWorker(*t, exec, {w, "sim"});
      }
    });
  }
  CoordinatorOptions co;
  co.quiet = true;
  co.stop_requested = [] { return 0; };
  CoordinatorResult r = Coordinate(*coordinator, *index, units, options, co);
  for (auto& t : threads) t.join();
  const double seconds = MonotonicSeconds() - t0;

  SimResult out;
  out.done = r.done;
  out.seconds = seconds;
  double total = 0, last_assign = 0;
  for (const auto& list : busy) {
    for (const auto& i : list) {
      total += i.end - i.begin;
      last_assign = std::max(last_assign, i.begin);
    }
  }
  double steady = 0;
  for (const auto& list : busy) {
    for (const auto& i : list) steady += std::max(0.0, std::min(i.end, last_assign) - i.begin);
  }
  out.busy = total / (workers * seconds);
  out.steady = last_assign > 0 ? steady / (workers * last_assign) : 1;
  out.last_assign = last_assign;
  std::filesystem::remove_all(dir);
  return out;
}

int Main(int argc, char** argv) {
  std::string from;
  std::vector<int> workers;
  int64_t per_worker = 8, trivial_units = 4000;
  double mean_s = 1;
  uint64_t seed = 1;
  bool trivial = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--from")
      from = next();
    else if (a == "--workers")
      workers = ParseList(next());
    else if (a == "--units-per-worker")
      per_worker = std::stoll(next());
    else if (a == "--mean-s")
      mean_s = std::stod(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--trivial")
      trivial = true;
    else if (a == "--units")
      trivial_units = std::stoll(next());
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else
      throw std::invalid_argument("unknown argument '" + a + "'\n" + kUsage);
  }
  if (!trivial && from.empty())
    throw std::invalid_argument(std::string("--from is required\n") + kUsage);
  if (workers.empty())
    workers = trivial ? std::vector<int>{1, 4, 16, 64} : std::vector<int>{64, 256, 1024};
  SetLogQuiet(true);
  // One HDF5 shard and a transport endpoint per simulated worker.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  if (trivial) {
    for (int w : workers) {
      const SimResult r = Simulate(w, trivial_units, {}, /*memory_shards=*/false);
      std::printf(
          "coordinator (in-process transport) %4d workers: %zu trivial units in %.2f s = "
          "%.0f units/s (each: assign + 1-row HDF5 append/flush + SQLite commit)\n",
          w, r.done, r.seconds, r.done / r.seconds);
    }
    return 0;
  }

  std::vector<double> real;
  for (const auto& u : OpenSqliteIndexReadOnly(from)->Units()) {
    if (u.status == "done" && u.wall_seconds > 0) real.push_back(u.wall_seconds);
  }
  if (real.empty())
    throw std::invalid_argument("'" + from + "' has no done units with a wall time");
  double sum = 0;
  for (double d : real) sum += d;
  const double real_mean = sum / real.size();
  std::sort(real.begin(), real.end());
  std::printf(
      "durations: %zu done units of %s: min %.1f s, median %.1f s, mean %.1f s, max %.1f s;"
      " scaled by %.4f to a mean of %.2f s\n",
      real.size(), from.c_str(), real.front(), real[real.size() / 2], real_mean, real.back(),
      mean_s / real_mean, mean_s);
  for (int w : workers) {
    const int64_t total = per_worker * w;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<size_t> pick(0, real.size() - 1);
    std::vector<double> durations(total);
    for (auto& d : durations) d = real[pick(rng)] * mean_s / real_mean;
    double work = 0, longest = 0;
    for (double d : durations) {
      work += d;
      longest = std::max(longest, d);
    }
    const SimResult r = Simulate(w, total, durations, /*memory_shards=*/true);
    const double bound = std::max(work / w, longest);
    std::printf(
        "simulated %4d workers, %5lld units: %.2f s (lower bound %.2f s); busy %.1f %% of "
        "the run, %.1f %% while work was queued (until the last assignment at %.2f s); "
        "demand %.0f units/s\n",
        w, static_cast<long long>(total), r.seconds, bound, 100 * r.busy, 100 * r.steady,
        r.last_assign, w / mean_s);
  }
  return 0;
}

}  // namespace
}  // namespace effrobust

int main(int argc, char** argv) {
  try {
    return effrobust::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_coordinator_sim: %s\n", e.what());
    return 1;
  }
}
