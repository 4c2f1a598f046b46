// End to end for the index on shared filesystems: `effrobust status` and
// `effrobust query` never fail while `effrobust run` writes (WAL and
// rollback journal), `effrobust query` refuses writes with exit code 2 and
// leaves the index unchanged, and `effrobust index rebuild` reconstructs the
// index of a real run from its shards alone.
#include "results/index.h"
#include "tests/support/process.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace effrobust {
namespace {

using test::Shell;
using test::Slurp;
using test::Mpirun;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

class IndexIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/effrobust-index-it-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    const std::string log = *dir_ + "/train.log";
    ASSERT_EQ(
        Shell(Bin() + " train --out " + *dir_ + "/m.pt --epochs 1 --max-train 2000 --seed 3", log),
        0)
        << Slurp(log);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // Writes DIR/<file>.yaml for experiment `name` (default: the file's name).
  static std::string WriteSpec(const std::string& file, const std::string& output,
                               int latency_repeats, const std::string& name = "") {
    const std::string path = *dir_ + "/" + file + ".yaml";
    std::ofstream out(path);
    out << "name: " << (name.empty() ? file : name) << "\nseed: 5\noutput: " << output << "\n"
        << "models: [{name: tiny, path: " << *dir_ << "/m.pt}]\n"
        << "datasets: [{name: fashion-mnist, split: test, range: [0, 48], shard_size: 16}]\n"
        << "attacks:\n  - name: clean\n  - name: pgd\n    params: {iterations: 3}\n"
        << "  - name: deepsloth\n    params: {eps: [8/255], iterations: 3}\n"
        << "measure: {latency_repeats: " << latency_repeats
        << ", latency_warmup: 0, batch_size: 16}\n";
    return path;
  }

  // A finished 3-rank run shared by the tests that only read it.
  static const std::string& FinishedRun() {
    static const std::string* out = nullptr;
    if (out == nullptr) {
      out = new std::string(*dir_ + "/done");
      const int rc = Shell(Mpirun(3) + Bin() + " run " + WriteSpec("done", *out, 1), *out + ".log");
      EXPECT_EQ(rc, 0) << Slurp(*out + ".log");
    }
    return *out;
  }

  static std::string* dir_;
};

std::string* IndexIntegrationTest::dir_ = nullptr;

// Starts `effrobust run` under mpirun with EFFROBUST_SQLITE_JOURNAL=mode and
// runs `status` and `query` until it ends; no reader may fail once the
// index exists, and none ever with "locked" or "busy".
void PollWhileRunning(const std::string& dir, const std::string& mode, const std::string& spec) {
  const std::string out = dir + "/live-" + mode;
  const std::string pid_file = out + ".pid";
  ASSERT_EQ(std::system(("EFFROBUST_SQLITE_JOURNAL=" + mode + " " + Mpirun(3) +
                         "-x EFFROBUST_SQLITE_JOURNAL " + Bin() + " run " + spec + " >" + out +
                         ".log 2>&1 & echo $! >" + pid_file)
                            .c_str()),
            0);
  const std::string pid = Slurp(pid_file).substr(0, Slurp(pid_file).find('\n'));
  const std::string log = out + ".reader.log";
  int ok = 0, failed_after_ready = 0, saw_running = 0;
  std::string first_failure;
  while (std::system(("kill -0 " + pid + " 2>/dev/null").c_str()) == 0) {
    for (const std::string& cmd :
         {Bin() + " status " + out,
          Bin() + " query " + out + " \"SELECT count(*) AS n FROM units WHERE status = 'done'\""}) {
      const int rc = Shell(cmd, log);
      const std::string text = Slurp(log);
      EXPECT_EQ(text.find("locked"), std::string::npos) << text;
      EXPECT_EQ(text.find("busy"), std::string::npos) << text;
      if (rc == 0) {
        ++ok;
        if (text.find("' running, started") != std::string::npos) ++saw_running;
      } else if (ok > 0) {
        ++failed_after_ready;
        if (first_failure.empty()) first_failure = cmd + ": " + text;
      }
    }
  }
  const std::string run_log = Slurp(out + ".log");
  ASSERT_NE(run_log.find("units done, 0 failed"), std::string::npos) << run_log;
  EXPECT_NE(run_log.find("journal_mode=" + mode + ": EFFROBUST_SQLITE_JOURNAL=" + mode),
            std::string::npos)
      << run_log;
  EXPECT_EQ(failed_after_ready, 0) << first_failure;
  EXPECT_GT(ok, 4) << "too few reads during the run";
  EXPECT_GT(saw_running, 0) << "status never saw the run in progress";
  ASSERT_EQ(Shell(Bin() + " query " + out + " \"PRAGMA journal_mode\" --format csv", log), 0);
  EXPECT_NE(Slurp(log).find(mode), std::string::npos) << Slurp(log);
  std::printf("[ journal %s ] %d reads during the run\n", mode.c_str(), ok);
}

TEST_F(IndexIntegrationTest, StatusAndQueryNeverFailWhileARunWritesInWalMode) {
  PollWhileRunning(*dir_, "wal", WriteSpec("live-wal", *dir_ + "/live-wal", 6));
}

TEST_F(IndexIntegrationTest, StatusAndQueryNeverFailWhileARunWritesInRollbackJournalMode) {
  PollWhileRunning(*dir_, "delete", WriteSpec("live-delete", *dir_ + "/live-delete", 6));
}

TEST_F(IndexIntegrationTest, QueryThatWouldWriteExitsWith2AndChangesNothing) {
  const std::string out = FinishedRun();
  const std::string index = out + "/index.sqlite";
  const std::string before = Slurp(index);
  const std::string counts =
      "SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM metrics), "
      "(SELECT count(*) FROM runs), (SELECT count(*) FROM models), "
      "(SELECT group_concat(status) FROM units)";
  const QueryResult want = RunQuery(index, counts);
  const std::vector<std::string> writes = {
      "DELETE FROM units",       "UPDATE units SET status = 'pending'",
      "DROP TABLE metrics",      "INSERT INTO runs (status) VALUES ('x')",
      "CREATE TABLE t (x)",      "ATTACH '" + out + "/other.sqlite' AS other",
      "PRAGMA user_version = 3", "VACUUM",
  };
  const std::string log = out + "/refused.log";
  for (const std::string& sql : writes) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(Shell(Bin() + " query " + out + " \"" + sql + "\"", log), 2) << Slurp(log);
    EXPECT_NE(Slurp(log).find("query is read-only: '" + sql + "' would "), std::string::npos)
        << Slurp(log);
    EXPECT_EQ(Slurp(index), before) << "index file changed";
    EXPECT_EQ(RunQuery(index, counts).rows, want.rows);
  }
  EXPECT_FALSE(fs::exists(out + "/other.sqlite"));
}

TEST_F(IndexIntegrationTest, RebuildFromShardsMatchesTheIndexOfARealRun) {
  const std::string out = FinishedRun();
  const std::string index = out + "/index.sqlite";
  const std::string rebuilt = *dir_ + "/rebuilt.sqlite";
  std::ofstream(out + "/shards/run0099-rank001.h5.tmp") << "a writer that never finished";
  const std::string log = *dir_ + "/rebuild.log";

  // The live index is never overwritten.
  const std::string before = Slurp(index);
  EXPECT_EQ(Shell(Bin() + " index rebuild " + out, log), 2) << Slurp(log);
  EXPECT_NE(Slurp(log).find("already exists"), std::string::npos) << Slurp(log);
  EXPECT_EQ(Slurp(index), before);

  ASSERT_EQ(Shell(Bin() + " index rebuild " + out + " --out " + rebuilt, log), 0) << Slurp(log);
  const std::string report = Slurp(log);
  EXPECT_NE(report.find("incomplete shard ignored: shards/run0099-rank001.h5.tmp"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("9 unit(s) from 9 record(s)"), std::string::npos) << report;
  EXPECT_NE(report.find("mv " + index), std::string::npos) << report;
  fs::remove(out + "/shards/run0099-rank001.h5.tmp");

  const auto want = OpenSqliteIndexReadOnly(index)->Units();
  const auto got = OpenSqliteIndexReadOnly(rebuilt)->Units();
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(want.size(), 9u);
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].plan.unit_id);
    EXPECT_EQ(got[i].plan.unit_id, want[i].plan.unit_id);
    EXPECT_EQ(got[i].status, want[i].status);
    EXPECT_EQ(got[i].shard_file, want[i].shard_file);
    EXPECT_EQ(got[i].row_begin, want[i].row_begin);
    EXPECT_EQ(got[i].row_end, want[i].row_end);
    EXPECT_EQ(got[i].plan.params_json, want[i].plan.params_json);
    EXPECT_EQ(got[i].plan.spec_json, want[i].plan.spec_json);
    EXPECT_EQ(got[i].run_id, want[i].run_id);
    EXPECT_EQ(got[i].worker_rank, want[i].worker_rank);
    EXPECT_EQ(got[i].host, want[i].host);
    EXPECT_EQ(got[i].started_at, want[i].started_at);
    EXPECT_EQ(got[i].finished_at, want[i].finished_at);
  }
  for (const char* sql : {"SELECT unit_id, name, value FROM metrics ORDER BY unit_id, name",
                          "SELECT unit_id, summary_json FROM units ORDER BY unit_id",
                          "SELECT name, path, arch, dataset, metadata_json FROM models",
                          "SELECT run_id, name, git_commit, ranks FROM runs"}) {
    SCOPED_TRACE(sql);
    const QueryResult a = RunQuery(index, sql);
    EXPECT_FALSE(a.rows.empty());
    EXPECT_EQ(RunQuery(rebuilt, sql).rows, a.rows);
  }

  // Swapped in as docs/operations.md says, the rebuilt index resumes: the
  // next run finds every unit done.
  const std::string copy = *dir_ + "/swapped";
  fs::copy(out, copy, fs::copy_options::recursive);
  fs::rename(copy + "/index.sqlite", copy + "/index.sqlite.old");
  fs::copy_file(rebuilt, copy + "/index.sqlite");
  const std::string spec = WriteSpec("swapped", copy, 1, "done");  // same experiment
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, log), 0) << Slurp(log);
  EXPECT_NE(Slurp(log).find("9 already done, 0 to run"), std::string::npos) << Slurp(log);
  ASSERT_EQ(Shell(Bin() + " tables " + copy, log), 0) << Slurp(log);
  EXPECT_NE(Slurp(log).find("| deepsloth"), std::string::npos) << Slurp(log);
}

}  // namespace
}  // namespace effrobust
