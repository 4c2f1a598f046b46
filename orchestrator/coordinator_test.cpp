// The whole coordinator/worker protocol in one process: fake executors in
// threads over InProcessHub, with a real SQLite index and real HDF5 shards.
#include "orchestrator/coordinator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "common/error.h"
#include "workers/worker_loop.h"

namespace effrobust {
namespace {

class FakeExecutor : public UnitExecutor {
 public:
  explicit FakeExecutor(std::string fail_attack = "") : fail_attack_(std::move(fail_attack)) {}
  Output Execute(const WorkUnit& unit, const RunOptions&, ShardWriter& shard) override {
    if (unit.attack == fail_attack_) throw AttackError("injected failure");
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
    return out;
  }
  std::string held_model() const override { return held_; }

 private:
  std::string fail_attack_;
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

  CoordinatorResult RunWith(int workers, const std::string& fail_attack = "") {
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
      threads.emplace_back([&hub, w, fail_attack] {
        auto t = hub.Endpoint(w);
        FakeExecutor exec(fail_attack);
        RunWorker(*t, exec, {w, "host"});
      });
    }
    CoordinatorOptions co;
    co.quiet = true;
    CoordinatorResult r = Coordinate(*coord, *index, units_, options_, co);
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
  EXPECT_EQ(r.shards.size(), 3u);
  for (const auto& u : index_->Units()) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id;
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

TEST_F(CoordinatorTest, FailedUnitIsRecordedWithItsErrorAndOthersFinish) {
  CoordinatorResult r = RunWith(2, "pgd");
  EXPECT_EQ(r.failed, units_.size() / 2);
  EXPECT_EQ(r.done, units_.size() / 2);
  for (const auto& u : index_->Units()) {
    if (u.plan.attack == "pgd") {
      EXPECT_EQ(u.status, "failed");
      EXPECT_NE(u.error.find("injected failure"), std::string::npos) << u.error;
    } else {
      EXPECT_EQ(u.status, "done");
    }
  }
}

TEST(ProgressLineTest, ShowsCountsRateAndEta) {
  EXPECT_EQ(ProgressLine(10, 1, 40, 60), "10/40 units (1 failed) | 10 units/min | ETA 3m00s");
  EXPECT_EQ(ProgressLine(0, 0, 5, 0), "0/5 units (0 failed) | 0 units/min | ETA ?");
}

}  // namespace
}  // namespace effrobust
