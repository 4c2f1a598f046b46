#include "orchestrator/rebuild.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "orchestrator/plan.h"
#include "results/index.h"
#include "results/shard.h"
#include "results/unit_record.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool HasWarning(const RebuildReport& r, const std::string& text) {
  for (const std::string& w : r.warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

// A run directory written the way workers and rank 0 write it: shards with
// rows and unit records, and the index rank 0 keeps from the same reports.
class RebuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = dir_.File("run");
    fs::create_directories(run_dir_ + "/shards");
    model_path_ = dir_.File("tiny.pt");
    std::ofstream(model_path_) << "weights";
    std::ofstream(model_path_ + ".json")
        << "{\"arch\": \"multi_exit_cnn\", \"dataset\": \"fashion-mnist\", \"exits\": 5}";
    model_hash_ = ModelFileHash(model_path_);
    original_ = OpenSqliteIndex(run_dir_ + "/index.sqlite", JournalSetting::kWal);
  }

  UnitPlan Plan(const std::string& id, const std::string& model = "tiny") const {
    UnitPlan p;
    p.unit_id = id;
    p.model = model;
    p.model_path = model == "tiny" ? model_path_ : dir_.File(model + ".pt");
    p.dataset = "fashion-mnist";
    p.split = "test";
    p.sample_begin = static_cast<int64_t>(id[0] - 'a') * 16;
    p.sample_end = p.sample_begin + 16;
    p.attack = id == "cccc" ? "clean" : "pgd";
    p.params_json =
        "{\"eps\":0.03,"
        "\"id\":\"" +
        id + "\"}";
    p.seed = 11;
    p.spec_json = "{\"model\":\"" + model + "\",\"model_hash\":\"" +
                  (model == "tiny" ? model_hash_ : std::string("0")) + "\",\"u\":\"" + id + "\"}";
    return p;
  }

  // Begins run `run_id` in the original index (as PrepareRun does).
  void BeginOriginalRun(int64_t run_id, const std::vector<UnitPlan>& plans) {
    RunRecord r;
    r.name = "rebuild-test";
    r.git_commit = "abc123";
    r.slurm_job_id = "77";
    r.slurm_restart_count = 1;
    r.ranks = 3;
    ASSERT_EQ(original_->BeginRun(r), run_id);
    original_->PlanUnits(run_id, plans);
  }

  // Writes a closed shard holding `units`, each with 4 rows and its record,
  // and commits them to the original index like the coordinator does.
  void WriteShard(int64_t run_id, int rank, const std::vector<UnitPlan>& units) {
    char name[64];
    std::snprintf(name, sizeof(name), "shards/run%04lld-rank%03d.h5",
                  static_cast<long long>(run_id), rank);
    auto w = CreateHdf5Shard(run_dir_ + "/" + name, {{"run_id", std::to_string(run_id)},
                                                     {"rank", std::to_string(rank)},
                                                     {"host", "node" + std::to_string(rank)},
                                                     {"created_at", "2026-11-25T20:00:00Z"},
                                                     {"git_commit", "abc123"},
                                                     {"slurm_job_id", "77"},
                                                     {"slurm_restart_count", "1"}});
    for (const UnitPlan& p : units) {
      RowBatch rows;
      rows.AddInt("sample_index",
                  {p.sample_begin, p.sample_begin + 1, p.sample_begin + 2, p.sample_begin + 3});
      rows.AddReal("flops", {1.5, 2.5, 3.5, 4.5});
      const RowRange range = w->Append(p.unit_id, rows);
      UnitCompletion c;
      c.unit_id = p.unit_id;
      c.run_id = run_id;
      c.worker_rank = rank;
      c.host = "node" + std::to_string(rank);
      c.started_at = 1000.0 + static_cast<double>(clock_);
      c.finished_at = 1000.5 + static_cast<double>(clock_++);
      c.wall_seconds = 0.5;
      c.shard_file = name;
      c.row_begin = range.begin;
      c.row_end = range.end;
      c.metrics = {{"clean_acc", 0.75 + 0.01 * rank}, {"samples", 4}, {"latency", std::nan("")}};
      w->AppendUnitRecord(p.unit_id, EncodeUnitRecord(p, c));
      original_->MarkRunning(c.unit_id, run_id, rank, c.host, c.started_at);
      original_->CommitUnit(c);
    }
    w->Close();
  }

  // The standard directory: run 1 on ranks 1 and 2, then run 2 redoing
  // unit bbbb (its run-1 commit was lost, say) and adding dddd.
  void WriteStandardRun() {
    BeginOriginalRun(1, {Plan("aaaa"), Plan("bbbb"), Plan("cccc")});
    WriteShard(1, 1, {Plan("aaaa"), Plan("bbbb")});
    WriteShard(1, 2, {Plan("cccc")});
    original_->EndRun(1, "finished", 2000);
    BeginOriginalRun(2, {Plan("aaaa"), Plan("bbbb"), Plan("cccc"), Plan("dddd", "ghost")});
    WriteShard(2, 1, {Plan("bbbb"), Plan("dddd", "ghost")});
    original_->EndRun(2, "finished", 3000);
    std::ofstream(run_dir_ + "/shards/run0003-rank001.h5.tmp") << "never closed";
  }

  TempDir dir_{"rebuild"};
  std::string run_dir_;
  std::string model_path_;
  std::string model_hash_;
  std::unique_ptr<ResultIndex> original_;
  int clock_ = 0;
};

TEST_F(RebuildTest, RebuiltIndexHasTheOriginalUnitsAndMetrics) {
  WriteStandardRun();
  const std::string out = dir_.File("rebuilt.sqlite");
  const RebuildReport r = RebuildIndex(run_dir_, out);
  EXPECT_EQ(r.index_path, out);
  EXPECT_EQ(r.shards, 3u);
  EXPECT_EQ(r.records, 5u);
  EXPECT_EQ(r.units, 4u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.incomplete, (std::vector<std::string>{"shards/run0003-rank001.h5.tmp"}));
  EXPECT_EQ(r.runs, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.models, (std::vector<std::string>{"tiny"}));
  EXPECT_TRUE(HasWarning(r, "model 'ghost'")) << r.warnings.size();
  EXPECT_FALSE(fs::exists(out + ".rebuilding"));

  const auto want = original_->Units();
  const auto got = OpenSqliteIndexReadOnly(out)->Units();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const UnitRecord& a = want[i];
    const UnitRecord& b = got[i];
    SCOPED_TRACE(a.plan.unit_id);
    EXPECT_EQ(b.plan.unit_id, a.plan.unit_id);
    EXPECT_EQ(b.plan.model, a.plan.model);
    EXPECT_EQ(b.plan.dataset, a.plan.dataset);
    EXPECT_EQ(b.plan.split, a.plan.split);
    EXPECT_EQ(b.plan.sample_begin, a.plan.sample_begin);
    EXPECT_EQ(b.plan.sample_end, a.plan.sample_end);
    EXPECT_EQ(b.plan.attack, a.plan.attack);
    EXPECT_EQ(b.plan.params_json, a.plan.params_json);
    EXPECT_EQ(b.plan.seed, a.plan.seed);
    EXPECT_EQ(b.plan.spec_json, a.plan.spec_json);
    EXPECT_EQ(b.status, a.status);
    EXPECT_EQ(b.attempts, a.attempts);
    EXPECT_EQ(b.run_id, a.run_id);
    EXPECT_EQ(b.worker_rank, a.worker_rank);
    EXPECT_EQ(b.host, a.host);
    EXPECT_EQ(b.started_at, a.started_at);
    EXPECT_EQ(b.finished_at, a.finished_at);
    EXPECT_EQ(b.wall_seconds, a.wall_seconds);
    EXPECT_EQ(b.shard_file, a.shard_file);
    EXPECT_EQ(b.row_begin, a.row_begin);
    EXPECT_EQ(b.row_end, a.row_end);
    EXPECT_EQ(b.device, a.device);
    EXPECT_EQ(b.error, a.error);
    EXPECT_EQ(b.metrics.size(), a.metrics.size());
  }
  const std::string path = run_dir_ + "/index.sqlite";
  const char* kMetrics = "SELECT unit_id, name, value FROM metrics ORDER BY unit_id, name";
  EXPECT_EQ(RunQuery(out, kMetrics).rows, RunQuery(path, kMetrics).rows);
  const char* kSummary = "SELECT unit_id, summary_json FROM units ORDER BY unit_id";
  EXPECT_EQ(RunQuery(out, kSummary).rows, RunQuery(path, kSummary).rows);
}

TEST_F(RebuildTest, RunsAndModelsComeFromShardAttributesAndSidecars) {
  WriteStandardRun();
  const std::string out = dir_.File("rebuilt.sqlite");
  RebuildIndex(run_dir_, out);
  auto index = OpenSqliteIndexReadOnly(out);
  const auto runs = index->Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run_id, 1);
  EXPECT_EQ(runs[0].status, "rebuilt");
  EXPECT_EQ(runs[0].git_commit, "abc123");
  EXPECT_EQ(runs[0].slurm_job_id, "77");
  EXPECT_EQ(runs[0].slurm_restart_count, 1);
  EXPECT_EQ(runs[0].ranks, 3);  // workers 1 and 2 plus rank 0
  EXPECT_EQ(runs[0].started_at, 1000.0);
  EXPECT_EQ(runs[1].run_id, 2);
  EXPECT_EQ(runs[1].ranks, 2);
  const auto models = index->Models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].name, "tiny");
  EXPECT_EQ(models[0].path, model_path_);
  EXPECT_EQ(models[0].arch, "multi_exit_cnn");
  EXPECT_EQ(models[0].dataset, "fashion-mnist");
  EXPECT_EQ(models[0].metadata_json, Slurp(model_path_ + ".json"));
}

TEST_F(RebuildTest, UnitRunAgainKeepsTheLatestRunsRecord) {
  WriteStandardRun();
  const std::string out = dir_.File("rebuilt.sqlite");
  RebuildIndex(run_dir_, out);
  for (const UnitRecord& u : OpenSqliteIndexReadOnly(out)->Units()) {
    if (u.plan.unit_id != "bbbb") continue;
    EXPECT_EQ(u.run_id, 2);
    EXPECT_EQ(u.shard_file, "shards/run0002-rank001.h5");
    EXPECT_EQ(u.attempts, 2);  // one record per run that finished it
  }
}

TEST_F(RebuildTest, RebuildIsDeterministic) {
  WriteStandardRun();
  RebuildIndex(run_dir_, dir_.File("one.sqlite"));
  RebuildIndex(run_dir_, dir_.File("two.sqlite"));
  const char* kAll =
      "SELECT unit_id, run_id, status, attempts, shard_file, row_begin, row_end, summary_json "
      "FROM units ORDER BY unit_id";
  EXPECT_EQ(RunQuery(dir_.File("one.sqlite"), kAll).rows,
            RunQuery(dir_.File("two.sqlite"), kAll).rows);
}

TEST_F(RebuildTest, RefusesAnExistingTargetAndLeavesItUntouched) {
  WriteStandardRun();
  original_.reset();
  const std::string path = run_dir_ + "/index.sqlite";
  const std::string before = Slurp(path);
  for (const std::string& target : {std::string(), path}) {
    try {
      RebuildIndex(run_dir_, target);
      ADD_FAILURE() << "rebuilt over '" << path << "'";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("--out"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(Slurp(path), before);
  EXPECT_FALSE(fs::exists(path + ".rebuilding"));
}

TEST_F(RebuildTest, WritesRunDirectoryIndexWhenItIsMissing) {
  WriteStandardRun();
  original_.reset();
  fs::rename(run_dir_ + "/index.sqlite", dir_.File("lost.sqlite"));
  const RebuildReport r = RebuildIndex(run_dir_, "");
  EXPECT_EQ(r.index_path, run_dir_ + "/index.sqlite");
  EXPECT_EQ(OpenSqliteIndexReadOnly(r.index_path)->DoneUnits().size(), 4u);
}

TEST_F(RebuildTest, RefusesLeftoverOfAnUnfinishedRebuild) {
  WriteStandardRun();
  const std::string out = dir_.File("rebuilt.sqlite");
  std::ofstream(out + ".rebuilding") << "partial";
  EXPECT_THROW(RebuildIndex(run_dir_, out), SpecError);
  EXPECT_EQ(Slurp(out + ".rebuilding"), "partial");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(RebuildTest, RefusesADirectoryWithoutShards) {
  EXPECT_THROW(RebuildIndex(dir_.File("nothing"), dir_.File("x.sqlite")), SpecError);
}

TEST_F(RebuildTest, SkipsUnreadableShardsAndRecordsWithWarnings) {
  BeginOriginalRun(1, {Plan("aaaa"), Plan("bbbb")});
  WriteShard(1, 1, {Plan("aaaa")});
  std::ofstream(run_dir_ + "/shards/run0001-rank002.h5") << "not hdf5";
  {
    // A record whose rows are not in the shard, one that does not parse,
    // rows without a record, and one good unit.
    auto w =
        CreateHdf5Shard(run_dir_ + "/shards/run0001-rank003.h5", {{"run_id", "1"}, {"rank", "3"}});
    RowBatch rows;
    rows.AddInt("sample_index", {0, 1});
    rows.AddReal("flops", {1, 2});
    w->Append("bbbb", rows);
    UnitCompletion c;
    c.unit_id = "bbbb";
    c.run_id = 1;
    c.shard_file = "shards/run0001-rank003.h5";
    c.row_begin = 0;
    c.row_end = 99;
    w->AppendUnitRecord("bbbb", EncodeUnitRecord(Plan("bbbb"), c));
    w->AppendUnitRecord("eeee", "{broken");
    c.row_end = 2;
    w->AppendUnitRecord("bbbb", EncodeUnitRecord(Plan("bbbb"), c));
    w->Close();
  }
  const RebuildReport r = RebuildIndex(run_dir_, dir_.File("rebuilt.sqlite"));
  EXPECT_TRUE(HasWarning(r, "skipped shard shards/run0001-rank002.h5")) << r.warnings.size();
  EXPECT_TRUE(HasWarning(r, "rows [0, 99) are not in the shard"));
  EXPECT_TRUE(HasWarning(r, "skipped a record of unit 'eeee'"));
  EXPECT_EQ(r.units, 2u);
  EXPECT_EQ(OpenSqliteIndexReadOnly(dir_.File("rebuilt.sqlite"))->DoneUnits(),
            (std::set<std::string>{"aaaa", "bbbb"}));
}

}  // namespace
}  // namespace effrobust
