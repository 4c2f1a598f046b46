// The whole coordinator/worker protocol in one process: fake executors in
// threads over InProcessHub, with a real SQLite index and real HDF5 shards.
#include "orchestrator/coordinator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "common/progress.h"
#include "workers/worker_loop.h"

namespace effrobust {
namespace {

// A fake executor: rows are (sample_index, value); behaviour is set per
// test: fail an attack (on one rank or all), take `unit_seconds` per unit
// with checkpoints, or hang silently (no checkpoints) on its first unit.
struct FakeBehaviour {
  std::string fail_attack;
  int fail_rank = -1;  // -1: every rank
  double unit_seconds = 0;
  int hang_rank = -1;
  double hang_seconds = 0;
  bool hang_reports_progress = false;  // the hang is one long batch of an attack
  std::atomic<int>* units_started = nullptr;
};

class FakeExecutor : public UnitExecutor {
 public:
  FakeExecutor(FakeBehaviour b, int rank) : b_(std::move(b)), rank_(rank) {}
  Output Execute(const WorkUnit& unit, const RunOptions&, ShardWriter& shard,
                 UnitContext& context) override {
    if (b_.units_started) ++*b_.units_started;
    if (unit.attack == b_.fail_attack && (b_.fail_rank < 0 || b_.fail_rank == rank_)) {
      throw AttackError("injected failure");
    }
    if (rank_ == b_.hang_rank && !hung_) {
      hung_ = true;
      if (b_.hang_reports_progress) {
        // No checkpoint, only an attack loop's per-iteration reports.
        const double end = MonotonicSeconds() + b_.hang_seconds;
        while (MonotonicSeconds() < end) {
          ReportProgress();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      } else {
        std::this_thread::sleep_for(std::chrono::duration<double>(b_.hang_seconds));
      }
    }
    const double until = MonotonicSeconds() + b_.unit_seconds;
    do {
      context.Checkpoint();
      std::this_thread::sleep_for(std::chrono::milliseconds(b_.unit_seconds > 0 ? 20 : 0));
    } while (MonotonicSeconds() < until);
    held_ = unit.model;
    RowBatch rows;
    std::vector<int64_t> idx;
    std::vector<double> value;
    for (int64_t i = unit.begin; i < unit.end; ++i) {
      idx.push_back(i);
      value.push_back(static_cast<double>(i) * 0.5);
    }
    rows.AddInt("sample_index", idx);
    rows.AddReal("value", value);
    Output out;
    out.rows = shard.Append(unit.id, rows);
    out.metrics["samples"] = static_cast<double>(idx.size());
    out.device = "cpu";
    out.device_name = "fake";
    return out;
  }
  std::string held_model() const override { return held_; }

 private:
  FakeBehaviour b_;
  int rank_;
  bool hung_ = false;
  std::string held_;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/effrobust-coord-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ + "/shards");
    spec_ = ParseSpec(
        "name: t\nmodels: [{name: A, path: a.pt}, {name: B, path: b.pt}]\n"
        "datasets: [{name: fashion-mnist, range: [0, 60], shard_size: 10}]\n"
        "attacks: [{name: clean}, {name: pgd}]\n",
        "t.yaml");
    units_ = ExpandUnits(spec_, {{"A", "1"}, {"B", "2"}});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CoordinatorResult RunWith(int workers, const FakeBehaviour& behaviour = {},
                            CoordinatorOptions co = {}) {
    auto index = OpenSqliteIndex(dir_ + "/index.sqlite");
    RunRecord rec;
    rec.name = "t";
    options_.run_id = index->BeginRun(rec);
    options_.run_dir = dir_;
    std::vector<UnitPlan> plans;
    for (const auto& u : units_) plans.push_back(u.ToPlan());
    index->PlanUnits(options_.run_id, plans);
    InProcessHub hub(workers + 1);
    auto coord = hub.Endpoint(0);
    std::vector<std::thread> threads;
    for (int w = 1; w <= workers; ++w) {
      threads.emplace_back([&hub, w, behaviour] {
        auto t = hub.Endpoint(w);
        FakeExecutor exec(behaviour, w);
        RunWorker(*t, exec, {w, "host"});
      });
    }
    co.quiet = true;
    if (!co.stop_requested) co.stop_requested = [] { return 0; };
    CoordinatorResult r = Coordinate(*coord, *index, units_, options_, co);
    for (int w : r.unresponsive) coord->Send(w, StopMessage());
    for (auto& t : threads) t.join();
    index_ = std::move(index);
    return r;
  }

  std::string dir_;
  ExperimentSpec spec_;
  std::vector<WorkUnit> units_;
  RunOptions options_;
  std::unique_ptr<ResultIndex> index_;
};

TEST_F(CoordinatorTest, EveryUnitCommittedOnceWithItsRowsInAClosedShard) {
  CoordinatorResult r = RunWith(3);
  EXPECT_EQ(r.done, units_.size());
  EXPECT_EQ(r.duplicates, 0u);
  // One shard per (worker, model): 3 workers, models A and B.
  EXPECT_GE(r.shards.size(), 3u);
  EXPECT_LE(r.shards.size(), 6u);
  const std::set<std::string> closed(r.shards.begin(), r.shards.end());
  EXPECT_EQ(closed.size(), r.shards.size());
  for (const auto& u : index_->Units()) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id;
    EXPECT_TRUE(closed.count(u.shard_file)) << u.shard_file;
    EXPECT_EQ(u.attempts, 1);
    const std::string path = dir_ + "/" + u.shard_file;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    RowBatch rows = ReadShardRows(path, {u.row_begin, u.row_end});
    ASSERT_EQ(static_cast<int64_t>(rows.rows()), u.plan.sample_end - u.plan.sample_begin);
    EXPECT_EQ(rows.Get("sample_index").ints.front(), u.plan.sample_begin);
    for (const auto& id : rows.unit_ids()) EXPECT_EQ(id, u.plan.unit_id);
    EXPECT_DOUBLE_EQ(u.metrics.at("samples"), static_cast<double>(rows.rows()));
  }
}

TEST_F(CoordinatorTest, WorkIsSpreadDynamicallyOverWorkers) {
  RunWith(2);
  std::set<int> ranks;
  for (const auto& u : index_->Units()) ranks.insert(u.worker_rank);
  EXPECT_EQ(ranks.size(), 2u);
}

TEST_F(CoordinatorTest, UnitFailingEverywhereIsRetriedThenRecordedWithItsError) {
  FakeBehaviour b;
  b.fail_attack = "pgd";
  CoordinatorOptions co;
  co.policy.max_retries = 2;
  CoordinatorResult r = RunWith(2, b, co);
  const size_t pgd_units = units_.size() / 2;
  EXPECT_EQ(r.failed, pgd_units);
  EXPECT_EQ(r.retried, 2 * pgd_units);
  EXPECT_EQ(r.done, units_.size() - pgd_units);
  for (const auto& u : index_->Units()) {
    if (u.plan.attack == "pgd") {
      EXPECT_EQ(u.status, "failed");
      EXPECT_EQ(u.failures, 3);
      EXPECT_EQ(u.attempts, 3);
      EXPECT_NE(u.error.find("injected failure"), std::string::npos) << u.error;
    } else {
      EXPECT_EQ(u.status, "done");
      EXPECT_EQ(u.failures, 0);
    }
  }
}

TEST_F(CoordinatorTest, UnitFailingOnOneWorkerIsRetriedOnAnotherAndSucceeds) {
  FakeBehaviour b;
  b.fail_attack = "pgd";
  b.fail_rank = 1;
  CoordinatorResult r = RunWith(2, b);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(r.done, units_.size());
  for (const auto& u : index_->Units()) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id;
    if (u.plan.attack == "pgd") EXPECT_EQ(u.worker_rank, 2);
    EXPECT_LE(u.failures, 1);
  }
}

TEST_F(CoordinatorTest, SilentWorkerLosesItsUnitAndItsLateResultIsDropped) {
  FakeBehaviour b;
  b.hang_rank = 1;
  b.hang_seconds = 3;  // no heartbeat while hung
  b.unit_seconds = 0.15;  // work is left when it wakes up
  CoordinatorOptions co;
  co.policy.lease_timeout_s = 1;
  options_.heartbeat_s = 0;  // heartbeat at every checkpoint
  CoordinatorResult r = RunWith(2, b, co);
  EXPECT_EQ(r.done, units_.size());
  EXPECT_GE(r.interrupted, 1u);
  EXPECT_GE(r.duplicates, 1u);  // the hung worker's late result
  EXPECT_TRUE(r.unresponsive.empty());
  for (const auto& u : index_->Units()) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id;
    EXPECT_EQ(u.failures, 0);
  }
}

TEST_F(CoordinatorTest, LongBatchKeepsItsLeaseThroughTheAttacksProgressReports) {
  // As SilentWorkerLoses... but the 3 s without a checkpoint is an attack
  // batch whose iterations call ReportProgress(): the worker heartbeats from
  // there, so nothing is taken away and nothing runs twice.
  FakeBehaviour b;
  b.hang_rank = 1;
  b.hang_seconds = 3;
  b.hang_reports_progress = true;
  b.unit_seconds = 0.15;
  CoordinatorOptions co;
  co.policy.lease_timeout_s = 1;
  options_.heartbeat_s = 0;
  CoordinatorResult r = RunWith(2, b, co);
  EXPECT_EQ(r.done, units_.size());
  EXPECT_EQ(r.interrupted, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  for (const auto& u : index_->Units()) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id;
    EXPECT_EQ(u.attempts, 1) << u.plan.unit_id;
  }
}

TEST(ProgressHookTest, ReportsReachTheInnermostHookAndStopWhenItIsGone) {
  int outer = 0, inner = 0;
  ReportProgress();  // no hook: nothing happens
  {
    ScopedProgressHook a([&] { ++outer; });
    ReportProgress();
    {
      ScopedProgressHook b([&] { ++inner; });
      ReportProgress();
      ReportProgress();
    }
    ReportProgress();
  }
  ReportProgress();
  EXPECT_EQ(outer, 2);
  EXPECT_EQ(inner, 2);
}

TEST_F(CoordinatorTest, DrainLetsBusyWorkersFinishAndLeavesTheRestPending) {
  std::atomic<int> started{0};
  FakeBehaviour b;
  b.unit_seconds = 0.2;
  b.units_started = &started;
  CoordinatorOptions co;
  co.stop_requested = [&] { return started.load() >= 3 ? SIGTERM : 0; };
  CoordinatorResult r = RunWith(2, b, co);
  EXPECT_TRUE(r.drained);
  EXPECT_EQ(r.drain_signal, SIGTERM);
  EXPECT_GT(r.left, 0u);
  EXPECT_EQ(r.done + r.left, units_.size());
  EXPECT_EQ(r.shards.size(), 2u);  // both shards closed and renamed
  EXPECT_TRUE(r.unresponsive.empty());
  size_t done = 0;
  for (const auto& u : index_->Units()) {
    EXPECT_TRUE(u.status == "done" || u.status == "pending") << u.status;
    if (u.status == "done") ++done;
  }
  EXPECT_EQ(done, r.done);
}

TEST_F(CoordinatorTest, DrainAbandonsAUnitThatOutlastsTheGrace) {
  std::atomic<int> started{0};
  FakeBehaviour b;
  b.unit_seconds = 30;
  b.units_started = &started;
  CoordinatorOptions co;
  co.drain_grace_s = 1;
  options_.drain_grace_s = 1;
  co.stop_requested = [&] { return started.load() >= 1 ? SIGUSR1 : 0; };
  const double t0 = MonotonicSeconds();
  CoordinatorResult r = RunWith(1, b, co);
  EXPECT_LT(MonotonicSeconds() - t0, 15);
  EXPECT_TRUE(r.drained);
  EXPECT_EQ(r.done, 0u);
  EXPECT_EQ(r.interrupted, 1u);
  EXPECT_EQ(r.left, units_.size());
  for (const auto& u : index_->Units()) {
    EXPECT_EQ(u.status, "pending");
    EXPECT_EQ(u.failures, 0);
  }
}

TEST(ProgressLineTest, ShowsCountsRateAndEta) {
  EXPECT_EQ(ProgressLine(10, 1, 40, 60), "10/40 units (1 failed) | 10 units/min | ETA 3m00s");
  EXPECT_EQ(ProgressLine(0, 0, 5, 0), "0/5 units (0 failed) | 0 units/min | ETA ?");
}

}  // namespace
}  // namespace effrobust
