#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/value.h"
#include "results/index.h"

namespace effrobust {
namespace {

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/effrobust_index_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/index.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static UnitPlan Plan(const std::string& id, const std::string& model, int64_t begin,
                       const std::string& attack = "pgd") {
    UnitPlan u;
    u.unit_id = id;
    u.model = model;
    u.dataset = "fmnist";
    u.split = "test";
    u.sample_begin = begin;
    u.sample_end = begin + 100;
    u.attack = attack;
    u.params_json = "{\"eps\":0.03}";
    u.seed = 42;
    u.spec_json = "{\"id\":\"" + id + "\"}";
    return u;
  }

  static UnitCompletion Completion(const std::string& id, int64_t run_id,
                                   std::map<std::string, double> metrics) {
    UnitCompletion c;
    c.unit_id = id;
    c.run_id = run_id;
    c.worker_rank = 3;
    c.host = "node-1";
    c.started_at = 1000.25;
    c.finished_at = 1010.75;
    c.wall_seconds = 10.5;
    c.shard_file = "shards/rank3.h5";
    c.row_begin = 200;
    c.row_end = 300;
    c.metrics = std::move(metrics);
    return c;
  }

  static const UnitRecord& Find(const std::vector<UnitRecord>& units, const std::string& id) {
    for (const UnitRecord& u : units) {
      if (u.plan.unit_id == id) return u;
    }
    throw std::runtime_error("no unit " + id);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(IndexTest, PlanUnitsInsertsPendingUnits) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100)});
  const auto units = index->Units();
  ASSERT_EQ(units.size(), 2u);
  const UnitRecord& u = Find(units, "u2");
  EXPECT_EQ(u.status, "pending");
  EXPECT_EQ(u.attempts, 0);
  EXPECT_EQ(u.run_id, 1);
  EXPECT_EQ(u.worker_rank, -1);
  EXPECT_EQ(u.plan.model, "sdn");
  EXPECT_EQ(u.plan.dataset, "fmnist");
  EXPECT_EQ(u.plan.split, "test");
  EXPECT_EQ(u.plan.sample_begin, 100);
  EXPECT_EQ(u.plan.sample_end, 200);
  EXPECT_EQ(u.plan.attack, "pgd");
  EXPECT_EQ(u.plan.params_json, "{\"eps\":0.03}");
  EXPECT_EQ(u.plan.seed, 42);
  EXPECT_EQ(u.plan.spec_json, "{\"id\":\"u2\"}");
  EXPECT_TRUE(index->DoneUnits().empty());
}

TEST_F(IndexTest, PlanUnitsKeepsDoneUnits) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100)});
  index->MarkRunning("u1", 1, 3, "node-1", 1000);
  index->CommitUnit(Completion("u1", 1, {{"acc", 0.9}}));

  index->PlanUnits(2, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100), Plan("u3", "sdn", 200)});
  EXPECT_EQ(index->DoneUnits(), (std::set<std::string>{"u1"}));
  const auto units = index->Units();
  ASSERT_EQ(units.size(), 3u);
  const UnitRecord& u1 = Find(units, "u1");
  EXPECT_EQ(u1.status, "done");
  EXPECT_EQ(u1.run_id, 1);
  EXPECT_EQ(u1.attempts, 1);
  EXPECT_EQ(u1.shard_file, "shards/rank3.h5");
  EXPECT_EQ(u1.metrics.at("acc"), 0.9);
  EXPECT_EQ(Find(units, "u2").status, "pending");
  EXPECT_EQ(Find(units, "u2").run_id, 1);
  EXPECT_EQ(Find(units, "u3").status, "pending");
  EXPECT_EQ(Find(units, "u3").run_id, 2);
}

TEST_F(IndexTest, PlanUnitsIsOneTransaction) {
  auto index = OpenSqliteIndex(path_);
  UnitPlan bad = Plan("", "sdn", 100);
  EXPECT_THROW(index->PlanUnits(1, {Plan("u1", "sdn", 0), bad}), ResultsError);
  EXPECT_TRUE(index->Units().empty());
}

TEST_F(IndexTest, CommitUnitStoresMetricsAndRowRange) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0)});
  index->MarkRunning("u1", 1, 3, "node-1", 1000.25);
  index->CommitUnit(Completion("u1", 1, {{"acc", 0.875}, {"flops_ratio", 1.5}, {"n", 100}}));

  const auto units = index->Units();
  ASSERT_EQ(units.size(), 1u);
  const UnitRecord& u = units[0];
  EXPECT_EQ(u.status, "done");
  EXPECT_EQ(u.worker_rank, 3);
  EXPECT_EQ(u.host, "node-1");
  EXPECT_EQ(u.started_at, 1000.25);
  EXPECT_EQ(u.finished_at, 1010.75);
  EXPECT_EQ(u.wall_seconds, 10.5);
  EXPECT_EQ(u.shard_file, "shards/rank3.h5");
  EXPECT_EQ(u.row_begin, 200);
  EXPECT_EQ(u.row_end, 300);
  EXPECT_EQ(u.metrics,
            (std::map<std::string, double>{{"acc", 0.875}, {"flops_ratio", 1.5}, {"n", 100}}));
  EXPECT_TRUE(u.error.empty());

  const QueryResult summary =
      RunQuery(path_, "SELECT summary_json, typeof(started_at) FROM units WHERE unit_id='u1'");
  ASSERT_EQ(summary.rows.size(), 1u);
  // Compared as parsed values: the exact digits are FormatNumber's business.
  const ParamMap parsed = ParseFlatJson(summary.rows[0][0]);
  EXPECT_EQ(parsed, (ParamMap{{"acc", 0.875}, {"flops_ratio", 1.5}, {"n", 100.0}}))
      << summary.rows[0][0];
  EXPECT_EQ(summary.rows[0][0].front(), '{');
  EXPECT_EQ(summary.rows[0][1], "real");

  const QueryResult metrics =
      RunQuery(path_, "SELECT unit_id, name, value FROM metrics ORDER BY name");
  ASSERT_EQ(metrics.rows.size(), 3u);
  EXPECT_EQ(metrics.rows[0][0], "u1");
  EXPECT_EQ(metrics.rows[0][1], "acc");
  EXPECT_EQ(std::stod(metrics.rows[0][2]), 0.875);
  EXPECT_EQ(metrics.rows[2][1], "n");
  EXPECT_EQ(std::stod(metrics.rows[2][2]), 100.0);
}

TEST_F(IndexTest, CommitUnitReplacesEarlierMetrics) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0)});
  index->CommitUnit(Completion("u1", 1, {{"acc", 0.5}, {"old", 1}}));
  index->CommitUnit(Completion("u1", 1, {{"acc", 0.75}}));
  EXPECT_EQ(index->Units()[0].metrics, (std::map<std::string, double>{{"acc", 0.75}}));
  EXPECT_EQ(RunQuery(path_, "SELECT count(*) FROM metrics").rows[0][0], "1");
}

TEST_F(IndexTest, NonFiniteMetricIsNullInSummaryJson) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0)});
  index->CommitUnit(Completion("u1", 1, {{"acc", std::nan("")}, {"ok", 2}}));
  EXPECT_EQ(RunQuery(path_, "SELECT summary_json FROM units").rows[0][0],
            "{\"acc\":null,\"ok\":" + FormatNumber(2) + "}");
  EXPECT_TRUE(std::isnan(index->Units()[0].metrics.at("acc")));
}

TEST_F(IndexTest, CommitUnknownUnitIsErrorAndWritesNothing) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0)});
  try {
    index->CommitUnit(Completion("nope", 1, {{"acc", 1}}));
    FAIL() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
  }
  EXPECT_EQ(RunQuery(path_, "SELECT count(*) FROM metrics").rows[0][0], "0");
  // The connection is still usable (the transaction was rolled back).
  index->CommitUnit(Completion("u1", 1, {{"acc", 1}}));
  EXPECT_EQ(index->DoneUnits(), (std::set<std::string>{"u1"}));
}

TEST_F(IndexTest, AttemptsCountEveryMarkRunning) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0)});
  index->MarkRunning("u1", 1, 1, "a", 10);
  EXPECT_EQ(index->Units()[0].attempts, 1);
  index->RecordFailure("u1", "boom", /*retry=*/true);
  index->MarkRunning("u1", 2, 4, "b", 20);
  const UnitRecord u = index->Units()[0];
  EXPECT_EQ(u.attempts, 2);
  EXPECT_EQ(u.status, "running");
  EXPECT_EQ(u.run_id, 2);
  EXPECT_EQ(u.worker_rank, 4);
  EXPECT_EQ(u.host, "b");
  EXPECT_EQ(u.started_at, 20);
  index->CommitUnit(Completion("u1", 2, {}));
  EXPECT_EQ(index->Units()[0].attempts, 2);
}

TEST_F(IndexTest, FailuresCountTowardsRetriesAndKeepTheError) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100)});
  index->MarkRunning("u1", 1, 1, "a", 10);
  index->RecordFailure("u1", "[attacks] NaN loss", /*retry=*/true);
  EXPECT_EQ(index->Units()[0].status, "pending");
  EXPECT_EQ(index->Units()[0].failures, 1);
  index->MarkRunning("u1", 1, 2, "b", 11);
  index->RecordFailure("u1", "[models] checkpoint missing", /*retry=*/false);
  EXPECT_EQ(index->Units()[0].status, "failed");
  EXPECT_EQ(index->Units()[0].failures, 2);
  EXPECT_EQ(index->Units()[0].interruptions, 0);
  EXPECT_EQ(index->Units()[0].error, "[models] checkpoint missing");

  index->CommitUnit(Completion("u2", 1, {{"acc", 1}}));
  index->MarkPending("u2");
  const UnitRecord u2 = Find(index->Units(), "u2");
  EXPECT_EQ(u2.status, "pending");
  EXPECT_EQ(u2.metrics.at("acc"), 1);  // metrics are kept
  EXPECT_TRUE(index->DoneUnits().empty());

  EXPECT_THROW(index->RecordFailure("nope", "x", false), ResultsError);
  EXPECT_THROW(index->MarkPending("nope"), ResultsError);
  EXPECT_THROW(index->MarkRunning("nope", 1, 1, "a", 1), ResultsError);
}

TEST_F(IndexTest, InterruptionsAreNotFailuresAndCrashedRunsAreRecovered) {
  auto index = OpenSqliteIndex(path_);
  RunRecord run;
  run.name = "t";
  run.status = "running";
  const int64_t run_id = index->BeginRun(run);
  index->PlanUnits(run_id, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100), Plan("u3", "sdn", 200)});
  index->MarkRunning("u1", run_id, 1, "a", 10);
  index->RecordInterruption("u1");  // drained
  index->RecordInterruption("u3");  // not running: no-op
  index->MarkRunning("u2", run_id, 2, "a", 10);
  index->MarkRunning("u3", run_id, 3, "a", 10);
  index->CommitUnit(Completion("u3", run_id, {}));
  // The process dies here; the next run recovers u2 and the run row.
  EXPECT_EQ(index->RecoverInterrupted(99), 1);
  EXPECT_EQ(Find(index->Units(), "u1").status, "pending");
  EXPECT_EQ(Find(index->Units(), "u1").interruptions, 1);
  EXPECT_EQ(Find(index->Units(), "u1").failures, 0);
  EXPECT_EQ(Find(index->Units(), "u2").status, "pending");
  EXPECT_EQ(Find(index->Units(), "u2").interruptions, 1);
  EXPECT_EQ(Find(index->Units(), "u3").status, "done");
  EXPECT_EQ(Find(index->Units(), "u3").interruptions, 0);
  EXPECT_EQ(index->Runs().back().status, "interrupted");
  EXPECT_EQ(index->Runs().back().ended_at, 99);
}

TEST_F(IndexTest, UnitsAreOrderedByModelDatasetSampleAttack) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("d", "sdn", 100, "clean"), Plan("c", "sdn", 0, "pgd"),
                       Plan("b", "sdn", 0, "clean"), Plan("a", "resnet", 500, "pgd")});
  std::vector<std::string> ids;
  for (const UnitRecord& u : index->Units()) ids.push_back(u.plan.unit_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(IndexTest, RunsAndModelsRoundTrip) {
  auto index = OpenSqliteIndex(path_);
  RunRecord run;
  run.name = "d1";
  run.config_text = "name: d1\n";
  run.config_hash = "abc";
  run.git_commit = "deadbeef";
  run.torch_version = "2.1";
  run.host = "login";
  run.ranks = 4;
  run.started_at = 100.5;
  run.status = "ignored";
  const int64_t id1 = index->BeginRun(run);
  const int64_t id2 = index->BeginRun(run);
  EXPECT_LT(id1, id2);
  index->EndRun(id1, "finished", 200.25);
  EXPECT_THROW(index->EndRun(999, "finished", 1), ResultsError);

  const auto runs = index->Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run_id, id1);
  EXPECT_EQ(runs[0].name, "d1");
  EXPECT_EQ(runs[0].config_text, "name: d1\n");
  EXPECT_EQ(runs[0].config_hash, "abc");
  EXPECT_EQ(runs[0].git_commit, "deadbeef");
  EXPECT_EQ(runs[0].torch_version, "2.1");
  EXPECT_EQ(runs[0].host, "login");
  EXPECT_EQ(runs[0].ranks, 4);
  EXPECT_EQ(runs[0].started_at, 100.5);
  EXPECT_EQ(runs[0].ended_at, 200.25);
  EXPECT_EQ(runs[0].status, "finished");
  EXPECT_EQ(runs[1].status, "running");

  index->RegisterModel({"sdn", "models/sdn.pt", "sdn_cnn", "fmnist", "{}"});
  index->RegisterModel({"sdn", "models/sdn2.pt", "sdn_cnn", "fmnist", "{\"v\":2}"});
  index->RegisterModel({"a", "models/a.pt", "cnn", "fmnist", ""});
  const auto models = index->Models();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].name, "a");
  EXPECT_EQ(models[1].path, "models/sdn2.pt");
  EXPECT_EQ(models[1].metadata_json, "{\"v\":2}");
}

TEST_F(IndexTest, ReopenKeepsDataAndUsesWal) {
  {
    auto index = OpenSqliteIndex(path_);
    index->PlanUnits(1, {Plan("u1", "sdn", 0)});
    index->CommitUnit(Completion("u1", 1, {{"acc", 1}}));
  }
  auto index = OpenSqliteIndex(path_);
  EXPECT_EQ(index->DoneUnits(), (std::set<std::string>{"u1"}));
  EXPECT_EQ(RunQuery(path_, "PRAGMA journal_mode").rows[0][0], "wal");
}

TEST_F(IndexTest, ReadOnlyIndexSeesCommitsOfOpenWriter) {
  auto writer = OpenSqliteIndex(path_);
  writer->PlanUnits(1, {Plan("u1", "sdn", 0)});
  auto reader = OpenSqliteIndexReadOnly(path_);
  EXPECT_EQ(reader->Units().size(), 1u);
  writer->CommitUnit(Completion("u1", 1, {{"acc", 1}}));
  EXPECT_EQ(reader->DoneUnits(), (std::set<std::string>{"u1"}));
  writer.reset();
  auto reader2 = OpenSqliteIndexReadOnly(path_);
  EXPECT_EQ(reader2->Units()[0].metrics.at("acc"), 1);
}

TEST_F(IndexTest, ReadOnlyIndexRejectsWrites) {
  OpenSqliteIndex(path_)->PlanUnits(1, {Plan("u1", "sdn", 0)});
  auto reader = OpenSqliteIndexReadOnly(path_);
  EXPECT_THROW(reader->PlanUnits(1, {Plan("u2", "sdn", 0)}), ResultsError);
  EXPECT_THROW(reader->MarkRunning("u1", 1, 1, "a", 1), ResultsError);
  EXPECT_THROW(reader->BeginRun(RunRecord{}), ResultsError);
  EXPECT_EQ(reader->Units().size(), 1u);
  EXPECT_EQ(reader->Units()[0].status, "pending");
}

TEST_F(IndexTest, ReadingAClosedIndexWritesNoFiles) {
  OpenSqliteIndex(path_)->PlanUnits(1, {Plan("u1", "sdn", 0)});
  ASSERT_FALSE(std::filesystem::exists(path_ + "-wal"));
  EXPECT_EQ(OpenSqliteIndexReadOnly(path_)->Units().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path_ + "-shm"));
}

TEST_F(IndexTest, ReadOnlyOpenOfMissingFileIsError) {
  try {
    OpenSqliteIndexReadOnly(path_);
    FAIL() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
  }
  struct stat st;
  EXPECT_NE(::stat(path_.c_str(), &st), 0) << "read-only open must not create the file";
  EXPECT_THROW(RunQuery(path_, "SELECT 1"), ResultsError);
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
}

TEST_F(IndexTest, OpenInMissingDirectoryIsErrorNamingPath) {
  const std::string bad = dir_ + "/no/such/index.sqlite";
  try {
    OpenSqliteIndex(bad);
    FAIL() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST_F(IndexTest, QueryReturnsColumnsAndRowsWithNullAsEmpty) {
  auto index = OpenSqliteIndex(path_);
  index->PlanUnits(1, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100)});
  index->CommitUnit(Completion("u2", 1, {{"acc", 0.25}}));
  const QueryResult r = RunQuery(
      path_, "SELECT unit_id, status, shard_file AS shard, wall_seconds FROM units "
             "ORDER BY unit_id");
  EXPECT_EQ(r.columns, (std::vector<std::string>{"unit_id", "status", "shard", "wall_seconds"}));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0], (std::vector<std::string>{"u1", "pending", "", ""}));
  EXPECT_EQ(r.rows[1], (std::vector<std::string>{"u2", "done", "shards/rank3.h5", "10.5"}));

  const QueryResult empty = RunQuery(path_, "SELECT unit_id FROM units WHERE 0");
  EXPECT_EQ(empty.columns, (std::vector<std::string>{"unit_id"}));
  EXPECT_TRUE(empty.rows.empty());
}

// Everything in the run directory, byte for byte.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    files[entry.path().filename().string()] = ss.str();
  }
  return files;
}

TEST_F(IndexTest, ReadOnlyQueryRefusesWritesBeforeRunningThem) {
  {
    auto index = OpenSqliteIndex(path_);
    index->PlanUnits(1, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100)});
    index->CommitUnit(Completion("u2", 1, {{"acc", 0.5}}));
  }
  RunQuery(path_, "SELECT count(*) FROM units");  // a reader may leave WAL's -shm behind
  const auto before = Snapshot(dir_);
  struct Refused {
    std::string sql;
    std::string what;
  };
  const std::vector<Refused> writes = {
      {"INSERT INTO metrics (unit_id, name, value) VALUES ('u1', 'x', 1)",
       "would modify the index (INSERT into metrics)"},
      {"REPLACE INTO units (unit_id) VALUES ('u9')", "would modify the index"},
      {"UPDATE units SET status = 'done'", "would modify the index (UPDATE of units)"},
      {"DELETE FROM units", "would modify the index (DELETE from units)"},
      {"WITH x AS (SELECT 1) DELETE FROM metrics", "would modify the index (DELETE from metrics)"},
      {"DROP TABLE units", "would modify the index"},
      {"CREATE TABLE t (x)", "would modify the index"},
      {"CREATE TEMP TABLE t (x)", "would modify the index"},
      {"CREATE INDEX i ON units(host)", "would modify the index"},
      {"ALTER TABLE units ADD COLUMN y", "would modify the index"},
      {"ANALYZE", "would modify the index"},
      {"REINDEX", "would modify the index"},
      {"VACUUM", "would modify the index"},
      {"VACUUM INTO '" + dir_ + "/copy.sqlite'", "would modify the index"},
      {"ATTACH '" + dir_ + "/other.sqlite' AS other", "would attach another database"},
      {"DETACH other", "would detach a database"},
      {"PRAGMA user_version = 7", "would change a setting (PRAGMA user_version = 7)"},
      {"PRAGMA journal_mode = DELETE", "would change a setting (PRAGMA journal_mode = DELETE)"},
      {"PRAGMA query_only = 0", "would change a setting"},
      {"PRAGMA wal_checkpoint", "would modify the index (PRAGMA wal_checkpoint)"},
      {"PRAGMA optimize", "would modify the index (PRAGMA optimize)"},
  };
  for (const Refused& w : writes) {
    SCOPED_TRACE(w.sql);
    try {
      RunQuery(path_, w.sql);
      ADD_FAILURE() << "expected ReadOnlyQueryError";
    } catch (const ReadOnlyQueryError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("query is read-only: '" + w.sql + "' " + w.what), std::string::npos)
          << what;
      EXPECT_NE(what.find(path_), std::string::npos) << what;
    }
    EXPECT_EQ(Snapshot(dir_), before) << "the run directory changed";
  }
  const QueryResult r = RunQuery(path_, "SELECT unit_id, status, (SELECT count(*) FROM metrics) "
                                        "FROM units ORDER BY unit_id");
  EXPECT_EQ(r.rows, (std::vector<std::vector<std::string>>{{"u1", "pending", "1"},
                                                           {"u2", "done", "1"}}));
}

TEST_F(IndexTest, ReadOnlyQueryRunsReadingStatementsAndPragmas) {
  OpenSqliteIndex(path_, JournalSetting::kWal)->PlanUnits(1, {Plan("u1", "sdn", 0)});
  EXPECT_EQ(RunQuery(path_, "WITH x AS (SELECT unit_id FROM units) SELECT count(*) FROM x")
                .rows[0][0],
            "1");
  EXPECT_EQ(RunQuery(path_, "PRAGMA journal_mode").rows[0][0], "wal");
  EXPECT_EQ(RunQuery(path_, "PRAGMA user_version").rows[0][0], "1");
  EXPECT_FALSE(RunQuery(path_, "PRAGMA table_info(units)").rows.empty());
  EXPECT_FALSE(RunQuery(path_, "PRAGMA index_list(units)").rows.empty());
  EXPECT_EQ(RunQuery(path_, "PRAGMA integrity_check").rows[0][0], "ok");
  EXPECT_FALSE(RunQuery(path_, "EXPLAIN SELECT * FROM units").rows.empty());
  EXPECT_EQ(RunQuery(path_, "SELECT count(*) FROM pragma_table_info('units') "
                            "WHERE name IN ('device', 'device_name')")
                .rows[0][0],
            "2");
}

TEST_F(IndexTest, QueryRejectsMultipleStatementsButAllowsTrailingSemicolon) {
  OpenSqliteIndex(path_)->PlanUnits(1, {Plan("u1", "sdn", 0)});
  EXPECT_THROW(RunQuery(path_, "SELECT 1; SELECT 2"), ResultsError);
  EXPECT_THROW(RunQuery(path_, "SELECT 1; DELETE FROM units"), ResultsError);
  EXPECT_THROW(RunQuery(path_, "   "), ResultsError);
  EXPECT_EQ(RunQuery(path_, "SELECT 1 AS one; -- done\n").rows[0][0], "1");
  EXPECT_EQ(RunQuery(path_, "SELECT count(*) FROM units;;").rows[0][0], "1");
}

TEST_F(IndexTest, QuerySyntaxErrorCarriesSqliteMessage) {
  OpenSqliteIndex(path_);
  try {
    RunQuery(path_, "SELEC 1");
    FAIL() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  }
  try {
    RunQuery(path_, "SELECT nope FROM units");
    FAIL() << "expected ResultsError";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("no such column"), std::string::npos) << e.what();
  }
}

TEST_F(IndexTest, DeviceAndSlurmFieldsRoundTrip) {
  auto index = OpenSqliteIndex(path_);
  RunRecord run;
  run.slurm_job_id = "424242";
  run.slurm_restart_count = 2;
  const int64_t run_id = index->BeginRun(run);
  index->PlanUnits(run_id, {Plan("u1", "sdn", 0), Plan("u2", "sdn", 100)});
  UnitCompletion c = Completion("u1", run_id, {{"acc", 1}});
  c.device = "cuda:1";
  c.device_name = "NVIDIA H100";
  index->CommitUnit(c);
  const auto units = index->Units();
  EXPECT_EQ(Find(units, "u1").device, "cuda:1");
  EXPECT_EQ(Find(units, "u1").device_name, "NVIDIA H100");
  EXPECT_EQ(Find(units, "u2").device, "");
  const auto runs = index->Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].slurm_job_id, "424242");
  EXPECT_EQ(runs[0].slurm_restart_count, 2);
  EXPECT_EQ(RunQuery(path_, "SELECT device_name FROM units WHERE unit_id = 'u1'").rows[0][0],
            "NVIDIA H100");
}

TEST_F(IndexTest, BeginRunKeepsAGivenRunIdAndRefusesATakenOne) {
  auto index = OpenSqliteIndex(path_);
  RunRecord run;
  run.run_id = 7;
  EXPECT_EQ(index->BeginRun(run), 7);
  run.run_id = 3;
  EXPECT_EQ(index->BeginRun(run), 3);
  EXPECT_THROW(index->BeginRun(run), ResultsError);
  run.run_id = 0;
  EXPECT_EQ(index->BeginRun(run), 8);  // next after the largest
  std::vector<int64_t> ids;
  for (const RunRecord& r : index->Runs()) ids.push_back(r.run_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 7, 8}));
}

// The schema of the first release, before the columns added later.
constexpr char kFirstSchema[] = R"sql(
CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT '',
  config_text TEXT, config_hash TEXT, git_commit TEXT, torch_version TEXT, host TEXT,
  ranks INTEGER, started_at REAL, ended_at REAL, status TEXT NOT NULL);
CREATE TABLE units (unit_id TEXT PRIMARY KEY NOT NULL, run_id INTEGER REFERENCES runs(run_id),
  model TEXT NOT NULL, dataset TEXT NOT NULL, split TEXT NOT NULL,
  sample_begin INTEGER NOT NULL, sample_end INTEGER NOT NULL, attack TEXT NOT NULL,
  params_json TEXT NOT NULL, seed INTEGER NOT NULL, spec_json TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0, worker_rank INTEGER, host TEXT, started_at REAL,
  finished_at REAL, wall_seconds REAL, shard_file TEXT, row_begin INTEGER, row_end INTEGER,
  summary_json TEXT, error TEXT);
CREATE TABLE metrics (unit_id TEXT NOT NULL REFERENCES units(unit_id), name TEXT NOT NULL,
  value REAL, PRIMARY KEY (unit_id, name));
CREATE TABLE models (name TEXT PRIMARY KEY NOT NULL, path TEXT, arch TEXT, dataset TEXT,
  metadata_json TEXT, registered_at REAL);
PRAGMA user_version = 1;
INSERT INTO runs (name, host, ranks, started_at, status) VALUES ('old', 'h', 3, 10, 'finished');
INSERT INTO units (unit_id, run_id, model, dataset, split, sample_begin, sample_end, attack,
  params_json, seed, spec_json, status, attempts, worker_rank, host, shard_file, row_begin,
  row_end) VALUES ('old1', 1, 'sdn', 'fmnist', 'test', 0, 16, 'pgd', '{}', 1, '{}', 'done', 1,
  2, 'h', 'shards/run0001-rank002.h5', 0, 16);
INSERT INTO metrics VALUES ('old1', 'acc', 0.5);
)sql";

void WriteFirstSchemaDatabase(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, kFirstSchema, nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

TEST_F(IndexTest, ReadOnlyOpenOfAFirstSchemaDatabaseReadsNewFieldsAsEmpty) {
  WriteFirstSchemaDatabase(path_);
  auto reader = OpenSqliteIndexReadOnly(path_);
  const auto units = reader->Units();
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].status, "done");
  EXPECT_EQ(units[0].device, "");
  EXPECT_EQ(units[0].metrics.at("acc"), 0.5);
  const auto runs = reader->Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].slurm_job_id, "");
  EXPECT_EQ(runs[0].slurm_restart_count, 0);
  // The read-only open changed nothing.
  EXPECT_EQ(RunQuery(path_, "SELECT count(*) FROM pragma_table_info('units') "
                            "WHERE name = 'device'").rows[0][0],
            "0");
}

TEST_F(IndexTest, WritableOpenOfAFirstSchemaDatabaseAddsTheMissingColumns) {
  WriteFirstSchemaDatabase(path_);
  auto index = OpenSqliteIndex(path_);
  for (const std::string& column : {"units.device", "units.device_name", "runs.slurm_job_id",
                                    "runs.slurm_restart_count"}) {
    const std::string table = column.substr(0, column.find('.'));
    const std::string name = column.substr(column.find('.') + 1);
    EXPECT_EQ(RunQuery(path_, "SELECT count(*) FROM pragma_table_info('" + table +
                                  "') WHERE name = '" + name + "'").rows[0][0],
              "1")
        << column;
  }
  // Old rows are kept and read with defaults; new writes use the columns.
  const auto runs = index->Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].name, "old");
  EXPECT_EQ(runs[0].slurm_restart_count, 0);
  EXPECT_EQ(index->DoneUnits(), (std::set<std::string>{"old1"}));
  index->PlanUnits(2, {Plan("u1", "sdn", 0)});
  UnitCompletion c = Completion("u1", 2, {{"acc", 1}});
  c.device = "cpu";
  index->CommitUnit(c);
  EXPECT_EQ(Find(index->Units(), "u1").device, "cpu");
  EXPECT_EQ(Find(index->Units(), "old1").shard_file, "shards/run0001-rank002.h5");
  // Opening again finds the columns present and changes nothing.
  index.reset();
  EXPECT_EQ(OpenSqliteIndex(path_)->Units().size(), 2u);
}

TEST_F(IndexTest, ReaderNamesAHotJournalAndTheNextWriterRollsItBack) {
  OpenSqliteIndex(path_, JournalSetting::kDelete)->PlanUnits(1, {Plan("u1", "sdn", 0)});
  // A writer killed in the middle of a large commit leaves a hot journal.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA cache_size = 1; BEGIN IMMEDIATE; CREATE TABLE big (x); "
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
                 "INSERT INTO big SELECT randomblob(2000) FROM n; "
                 "UPDATE units SET status = 'failed';",
                 nullptr, nullptr, nullptr);
    ::_exit(0);  // no COMMIT, no close
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(std::filesystem::exists(path_ + "-journal"));
  try {
    OpenSqliteIndexReadOnly(path_)->Units();
    FAIL() << "read through a hot journal";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find(path_ + "-journal' is left by a writer killed"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(RunQuery(path_, "SELECT count(*) FROM units"), ResultsError);
  OpenSqliteIndex(path_, JournalSetting::kDelete);  // rolls the commit back
  EXPECT_FALSE(std::filesystem::exists(path_ + "-journal"));
  const auto units = OpenSqliteIndexReadOnly(path_)->Units();
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].status, "pending");
  EXPECT_THROW(RunQuery(path_, "SELECT count(*) FROM big"), ResultsError);
}

}  // namespace
}  // namespace effrobust
