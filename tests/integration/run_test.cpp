// End to end: `effrobust train`, then `effrobust run` single-process and
// under `mpirun -np 3` on a tiny experiment; checks the HDF5 shards against
// the SQLite index, resume, grid extension and rank-independence of rows.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "evaluation/d1_summary.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/process.h"

namespace effrobust {
namespace {

using test::Shell;
using test::Slurp;
using test::Mpirun;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

class RunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/effrobust-it-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    const std::string log = *dir_ + "/train.log";
    int rc = Shell(Bin() + " train --out " + *dir_ + "/m.pt --epochs 1 --max-train 4000 --seed 3", log);
    ASSERT_EQ(rc, 0) << Slurp(log);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // Writes an experiment with the given output dir and DeepSloth eps list.
  std::string WriteSpec(const std::string& name, const std::string& output, const std::string& eps,
                        const std::string& measure =
                            "{latency_repeats: 1, latency_warmup: 0, batch_size: 16}") {
    const std::string path = *dir_ + "/" + name + ".yaml";
    std::ofstream out(path);
    out << "name: " << name << "\nseed: 11\noutput: " << output << "\n"
        << "models: [{name: tiny, path: " << *dir_ << "/m.pt}]\n"
        << "datasets: [{name: fashion-mnist, split: test, range: [0, 48], shard_size: 16}]\n"
        << "attacks:\n  - name: clean\n  - name: pgd\n    params: {iterations: 4}\n"
        << "  - name: deepsloth\n    params: {eps: " << eps << ", iterations: 4}\n"
        << "measure: " << measure << "\n";
    return path;
  }

  std::vector<double> ExitFlops() {
    YAML::Node meta = YAML::LoadFile(*dir_ + "/m.pt.json");
    return meta["exit_flops"].as<std::vector<double>>();
  }

  static std::string* dir_;
};

std::string* RunTest::dir_ = nullptr;

TEST_F(RunTest, MpiRunCommitsEveryUnitWithRowsThatReproduceItsSummary) {
  const std::string out = *dir_ + "/np3";
  const std::string spec = WriteSpec("np3", out, "[8/255]");
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, out + ".log"), 0) << Slurp(out + ".log");
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  auto units = index->Units();
  ASSERT_EQ(units.size(), 9u);  // 3 shards x 3 attacks
  std::set<int> ranks;
  const auto flops = ExitFlops();
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    ranks.insert(u.worker_rank);
    const std::string shard = out + "/" + u.shard_file;
    ASSERT_TRUE(fs::exists(shard)) << shard;
    RowBatch rows = ReadShardRows(shard, {u.row_begin, u.row_end});
    ASSERT_EQ(static_cast<int64_t>(rows.rows()), u.plan.sample_end - u.plan.sample_begin);
    for (const auto& id : rows.unit_ids()) ASSERT_EQ(id, u.plan.unit_id);
    auto recomputed = SummarizeD1(rows, EarlyExitLayout(flops));
    for (const auto& [name, value] : recomputed) {
      ASSERT_TRUE(u.metrics.count(name) || std::isnan(value)) << name;
      if (std::isnan(value)) continue;
      EXPECT_DOUBLE_EQ(u.metrics.at(name), value) << u.plan.unit_id << " " << name;
    }
  }
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));  // rank 0 does no model work
  for (const auto& entry : fs::directory_iterator(out + "/shards")) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
}

TEST_F(RunTest, SecondRunSkipsDoneUnitsAndExtendedGridRunsOnlyNewOnes) {
  const std::string out = *dir_ + "/resume";
  const std::string spec = WriteSpec("resume", out, "[8/255]");
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, out + ".1.log"), 0) << Slurp(out + ".1.log");
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, out + ".2.log"), 0) << Slurp(out + ".2.log");
  EXPECT_NE(Slurp(out + ".2.log").find("9 already done, 0 to run"), std::string::npos)
      << Slurp(out + ".2.log");
  const std::string bigger = WriteSpec("resume", out, "[8/255, 4/255]");
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + bigger, out + ".3.log"), 0) << Slurp(out + ".3.log");
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  auto runs = index->Runs();
  ASSERT_EQ(runs.size(), 3u);
  size_t in_third = 0;
  for (const auto& u : index->Units()) {
    EXPECT_EQ(u.status, "done");
    EXPECT_EQ(u.attempts, 1) << "unit " << u.plan.unit_id << " ran twice";
    if (u.run_id == runs[2].run_id) ++in_third;
  }
  EXPECT_EQ(index->Units().size(), 12u);
  EXPECT_EQ(in_third, 3u);  // only the new eps setting, 3 shards
}

TEST_F(RunTest, SameUnitGivesIdenticalRowsUnderOneAndThreeRanks) {
  const std::string out1 = *dir_ + "/det1", out3 = *dir_ + "/det3";
  ASSERT_EQ(Shell(Bin() + " run " + WriteSpec("det1", out1, "[8/255]"), out1 + ".log"), 0)
      << Slurp(out1 + ".log");
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + WriteSpec("det3", out3, "[8/255]"), out3 + ".log"), 0)
      << Slurp(out3 + ".log");
  auto a = OpenSqliteIndexReadOnly(out1 + "/index.sqlite")->Units();
  auto b = OpenSqliteIndexReadOnly(out3 + "/index.sqlite")->Units();
  std::map<std::string, UnitRecord> by_id;
  for (const auto& u : b) by_id[u.plan.unit_id] = u;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& u : a) {
    ASSERT_TRUE(by_id.count(u.plan.unit_id)) << "unit ids differ between runs";
    const auto& v = by_id[u.plan.unit_id];
    RowBatch ra = ReadShardRows(out1 + "/" + u.shard_file, {u.row_begin, u.row_end});
    RowBatch rb = ReadShardRows(out3 + "/" + v.shard_file, {v.row_begin, v.row_end});
    for (const Column& c : ra.columns()) {
      if (c.name.find("latency") != std::string::npos) continue;  // wall-clock timing
      const Column& d = rb.Get(c.name);
      EXPECT_EQ(c.ints, d.ints) << u.plan.attack << " " << c.name;
      EXPECT_EQ(c.reals, d.reals) << u.plan.attack << " " << c.name;
    }
  }
}

TEST_F(RunTest, StatusReportsALiveRunWhileItIsGoing) {
  const std::string out = *dir_ + "/live";
  const std::string spec =
      WriteSpec("live", out, "[8/255]", "{latency_repeats: 10, latency_warmup: 0, batch_size: 16}");
  const std::string pid_file = *dir_ + "/live.pid";
  ASSERT_EQ(std::system((Mpirun(3) + Bin() + " run " + spec + " >" + out + ".log 2>&1 & echo $! >" +
                         pid_file).c_str()),
            0);
  bool saw_live = false;
  const std::string log = *dir_ + "/live-status.log";
  for (int i = 0; i < 600 && !saw_live; ++i) {
    if (Shell(Bin() + " status " + out, log) == 0) {
      const std::string text = Slurp(log);
      saw_live = text.find("' running, started") != std::string::npos &&
                 text.find("ETA") != std::string::npos;
    }
    if (!saw_live) usleep(100000);
  }
  ASSERT_EQ(std::system(("while kill -0 $(cat " + pid_file + ") 2>/dev/null; do sleep 0.2; done").c_str()), 0);
  EXPECT_TRUE(saw_live) << "status never showed the run in progress; last output:\n" << Slurp(log);
  ASSERT_EQ(Shell(Bin() + " status " + out, log), 0);
  EXPECT_NE(Slurp(log).find("' finished, started"), std::string::npos) << Slurp(log);
}

TEST_F(RunTest, SpecErrorExitsWithCode2AndNamesFileAndLine) {
  const std::string path = *dir_ + "/bad.yaml";
  std::ofstream(path) << "name: bad\nseed: x\n";
  const std::string log = *dir_ + "/bad.log";
  EXPECT_EQ(Shell(Bin() + " run " + path, log), 2);
  EXPECT_NE(Slurp(log).find(path + ":2: key 'seed'"), std::string::npos) << Slurp(log);
  // Under MPI, rank 0 stops the workers and every rank ends; mpirun passes on 2.
  EXPECT_EQ(Shell("timeout 120 " + Mpirun(3) + Bin() + " run " + path, log), 2) << Slurp(log);
  EXPECT_NE(Slurp(log).find(path + ":2: key 'seed'"), std::string::npos) << Slurp(log);
}

TEST_F(RunTest, QueryAndTablesReadTheIndex) {
  const std::string out = *dir_ + "/np3";
  if (!fs::exists(out + "/index.sqlite")) GTEST_SKIP() << "needs the np3 run";
  const std::string log = *dir_ + "/q.log";
  ASSERT_EQ(Shell(Bin() + " query " + out + " \"SELECT count(*) AS n FROM units WHERE status='done'\" --format csv", log), 0);
  EXPECT_NE(Slurp(log).find("n\n9"), std::string::npos) << Slurp(log);
  ASSERT_EQ(Shell(Bin() + " query " + out + " \"DELETE FROM units\"", log), 2);  // refused: read-only
  ASSERT_EQ(Shell(Bin() + " tables " + out, log), 0);
  EXPECT_NE(Slurp(log).find("| deepsloth"), std::string::npos) << Slurp(log);
  ASSERT_EQ(Shell(Bin() + " status " + out, log), 0);
  EXPECT_NE(Slurp(log).find("9 done"), std::string::npos) << Slurp(log);
}

}  // namespace
}  // namespace effrobust
