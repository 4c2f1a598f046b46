// Readers never fail with "database is locked" while the single writer
// commits, in WAL and in rollback-journal mode: a writer thread commits units
// through ResultIndex while reader threads run RunQuery and
// OpenSqliteIndexReadOnly()->Units() in a loop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "results/index.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

constexpr int kUnits = 400;
constexpr int kMetricsPerUnit = 12;
constexpr int kReaders = 3;
constexpr double kMaxWriteSeconds = 4.0;

UnitPlan Plan(int i) {
  UnitPlan p;
  p.unit_id = "u" + std::to_string(i);
  p.model = "sdn";
  p.dataset = "fmnist";
  p.split = "test";
  p.sample_begin = i * 16;
  p.sample_end = i * 16 + 16;
  p.attack = "pgd";
  p.params_json = "{}";
  p.seed = 1;
  p.spec_json = "{}";
  return p;
}

UnitCompletion Completion(int i) {
  UnitCompletion c;
  c.unit_id = "u" + std::to_string(i);
  c.run_id = 1;
  c.worker_rank = 1 + i % 2;
  c.host = "node";
  c.shard_file = "shards/run0001-rank001.h5";
  c.row_begin = i * 16;
  c.row_end = i * 16 + 16;
  for (int m = 0; m < kMetricsPerUnit; ++m) c.metrics["m" + std::to_string(m)] = i + m;
  return c;
}

class IndexConcurrencyTest : public ::testing::TestWithParam<JournalSetting> {};

TEST_P(IndexConcurrencyTest, ReadersNeverFailWhileTheWriterCommits) {
  TempDir dir("concurrency");
  const std::string path = dir.File("index.sqlite");
  auto writer = OpenSqliteIndex(path, GetParam());
  const std::string mode = RunQuery(path, "PRAGMA journal_mode").rows.at(0).at(0);
  EXPECT_EQ(mode, GetParam() == JournalSetting::kWal ? "wal" : "delete");
  RunRecord run;
  writer->BeginRun(run);
  std::vector<UnitPlan> plans;
  for (int i = 0; i < kUnits; ++i) plans.push_back(Plan(i));
  writer->PlanUnits(1, plans);

  std::atomic<bool> writing{true};
  std::atomic<int> committed{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::map<std::string, int> reads;
  auto record_error = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(what);
  };

  std::thread write_thread([&] {
    const double t0 = MonotonicSeconds();
    try {
      for (int i = 0; i < kUnits && MonotonicSeconds() - t0 < kMaxWriteSeconds; ++i) {
        writer->MarkRunning("u" + std::to_string(i), 1, 1, "node", WallSeconds());
        writer->CommitUnit(Completion(i));
        committed = i + 1;
      }
    } catch (const std::exception& e) {
      record_error(std::string("writer: ") + e.what());
    }
    writing = false;
  });

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      int queries = 0, scans = 0;
      int last_done = 0;
      do {
        try {
          const QueryResult q = RunQuery(path, "SELECT count(*) FROM units WHERE status = 'done'");
          const int done = std::stoi(q.rows.at(0).at(0));
          if (done < last_done) record_error("done count went back");
          last_done = done;
          ++queries;
          const std::vector<UnitRecord> units = OpenSqliteIndexReadOnly(path)->Units();
          if (units.size() != static_cast<size_t>(kUnits)) record_error("wrong unit count");
          for (const UnitRecord& u : units) {
            // Units() reads units and metrics in one snapshot.
            const size_t expected = u.status == "done" ? kMetricsPerUnit : 0;
            if (u.metrics.size() != expected) {
              record_error("unit " + u.plan.unit_id + " is " + u.status + " with " +
                           std::to_string(u.metrics.size()) + " metrics");
              break;
            }
          }
          ++scans;
        } catch (const std::exception& e) {
          record_error("reader " + std::to_string(r) + ": " + e.what());
        }
      } while (writing);
      std::lock_guard<std::mutex> lock(mu);
      reads["queries"] += queries;
      reads["scans"] += scans;
    });
  }
  write_thread.join();
  for (std::thread& t : readers) t.join();

  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors.front();
  EXPECT_GE(committed.load(), 20) << "the writer made too little progress";
  EXPECT_GE(reads["queries"], kReaders);
  EXPECT_GE(reads["scans"], kReaders);
  EXPECT_EQ(RunQuery(path, "SELECT count(*) FROM units WHERE status = 'done'").rows[0][0],
            std::to_string(committed.load()));
  std::printf("[ journal %s ] %d commits, %d queries, %d scans by %d readers\n", mode.c_str(),
              committed.load(), reads["queries"], reads["scans"], kReaders);
}

INSTANTIATE_TEST_SUITE_P(JournalModes, IndexConcurrencyTest,
                         ::testing::Values(JournalSetting::kWal, JournalSetting::kDelete),
                         [](const ::testing::TestParamInfo<JournalSetting>& info) {
                           return info.param == JournalSetting::kWal ? std::string("Wal")
                                                                     : std::string("Delete");
                         });

}  // namespace
}  // namespace effrobust
