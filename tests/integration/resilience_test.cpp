// Cluster-grade behaviour of the real binary under mpirun: a stop signal
// drains the run (exit 4) and the same command resumes it; kill -9 of a
// worker, of the coordinator or of the whole job loses nothing that was
// committed and the resumed run's rows equal an uninterrupted run's; a
// failing unit is retried on another worker; a silent (SIGSTOPped) worker
// loses its lease and its late result is dropped; two runs cannot share a
// run directory.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <set>

#include "results/index.h"
#include "results/shard.h"
#include "tests/support/process.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;
using test::FindProcesses;
using test::Mpirun;
using test::Shell;
using test::Slurp;
using test::StartBackground;
using test::WaitExit;
using test::WaitFor;

std::string Bin() { return EFFROBUST_BINARY; }

class ResilienceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/effrobust-res-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    const std::string log = *dir_ + "/train.log";
    ASSERT_EQ(Shell(Bin() + " train --out " + *dir_ + "/m.pt --epochs 1 --max-train 3000 --seed 5",
                    log),
              0)
        << Slurp(log);
    const std::string ref = *dir_ + "/ref";
    ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + WriteSpec("ref", ref), ref + ".log"), 0)
        << Slurp(ref + ".log");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // 16 units of ~0.5 s: 8 shards of 20 test images x {clean, pgd}.
  static std::string WriteSpec(const std::string& name, const std::string& output,
                               const std::string& policy = "{}") {
    const std::string path = *dir_ + "/" + name + ".yaml";
    std::ofstream out(path);
    out << "name: resilience\nseed: 7\noutput: " << output << "\n"
        << "models: [{name: tiny, path: " << *dir_ << "/m.pt}]\n"
        << "datasets: [{name: fashion-mnist, split: test, range: [0, 160], shard_size: 20}]\n"
        << "attacks:\n  - name: clean\n  - name: pgd\n    params: {iterations: 20}\n"
        << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 5}\n"
        << "policy: " << policy << "\n";
    return path;
  }

  static size_t DoneUnits(const std::string& out) {
    try {
      return OpenSqliteIndexReadOnly(out + "/index.sqlite")->DoneUnits().size();
    } catch (const std::exception&) {
      return 0;  // not created yet
    }
  }

  // Every unit done, each readable from a closed shard, rows equal to the
  // uninterrupted reference run (timing columns aside).
  static void ExpectCompleteAndEqualToReference(const std::string& out) {
    auto ref = OpenSqliteIndexReadOnly(*dir_ + "/ref/index.sqlite")->Units();
    auto got = OpenSqliteIndexReadOnly(out + "/index.sqlite")->Units();
    ASSERT_EQ(got.size(), ref.size());
    std::map<std::string, UnitRecord> by_id;
    for (const auto& u : got) by_id[u.plan.unit_id] = u;
    for (const auto& r : ref) {
      ASSERT_TRUE(by_id.count(r.plan.unit_id)) << r.plan.unit_id;
      const UnitRecord& u = by_id[r.plan.unit_id];
      ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
      EXPECT_EQ(u.failures, 0);
      // Where it ran: host, torch device and the device's name.
      EXPECT_FALSE(u.host.empty());
      EXPECT_EQ(u.device, "cpu");
      EXPECT_FALSE(u.device_name.empty());
      const std::string shard = out + "/" + u.shard_file;
      ASSERT_TRUE(fs::exists(shard)) << shard;
      RowBatch a = ReadShardRows(*dir_ + "/ref/" + r.shard_file, {r.row_begin, r.row_end});
      RowBatch b = ReadShardRows(shard, {u.row_begin, u.row_end});
      ASSERT_EQ(a.rows(), b.rows());
      for (const auto& id : b.unit_ids()) ASSERT_EQ(id, u.plan.unit_id);
      for (const Column& c : a.columns()) {
        if (c.name.find("latency") != std::string::npos) continue;  // wall-clock timing
        const Column& d = b.Get(c.name);
        EXPECT_EQ(c.ints, d.ints) << u.plan.attack << " " << c.name;
        EXPECT_EQ(c.reals, d.reals) << u.plan.attack << " " << c.name;
      }
    }
  }

  // Starts `effrobust run SPEC` under mpirun -np 3 in the background.
  void StartRun(const std::string& spec, const std::string& out, const std::string& env = "") {
    log_ = out + ".1.log";
    rc_ = out + ".1.rc";
    StartBackground(env + Mpirun(3) + Bin() + " run " + spec, log_, rc_);
  }

  // Kills the listed processes with `sig`.
  static void Kill(const std::vector<pid_t>& pids, int sig) {
    for (pid_t p : pids) kill(p, sig);
  }

  // kill -9 of the given ranks (or the whole job), then the same command
  // again completes with rows equal to the reference.
  void KillAndResume(const std::string& name, const std::vector<int>& ranks, bool whole_job) {
    const std::string out = *dir_ + "/" + name;
    const std::string spec = WriteSpec(name, out);
    StartRun(spec, out);
    ASSERT_TRUE(WaitFor([&] { return DoneUnits(out) >= 3; }, 300)) << Slurp(log_);
    if (whole_job) Kill(FindProcesses("mpirun", spec), SIGKILL);
    for (int r : ranks) {
      auto pids = FindProcesses("effrobust", spec, r);
      ASSERT_FALSE(pids.empty()) << "rank " << r << " not found";
      Kill(pids, SIGKILL);
    }
    const int rc = WaitExit(rc_, 120);
    EXPECT_NE(rc, 0) << Slurp(log_);
    Kill(FindProcesses("effrobust", spec), SIGKILL);  // orphans of a killed mpirun
    ASSERT_TRUE(WaitFor([&] { return FindProcesses("effrobust", spec).empty(); }, 30));

    const size_t done_before = DoneUnits(out);
    std::set<std::string> tmp_before;
    for (const auto& e : fs::directory_iterator(out + "/shards")) {
      if (e.path().extension() == ".tmp") tmp_before.insert(e.path().string());
    }
    EXPECT_FALSE(tmp_before.empty()) << "a killed worker leaves its shard as .tmp";

    const std::string log2 = out + ".2.log";
    ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, log2), 0) << Slurp(log2);
    EXPECT_NE(Slurp(log2).find("never closed (left as .tmp"), std::string::npos) << Slurp(log2);
    ExpectCompleteAndEqualToReference(out);
    for (const auto& t : tmp_before) EXPECT_TRUE(fs::exists(t)) << t << " was deleted";
    auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
    auto runs = index->Runs();
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].status, "interrupted");
    EXPECT_EQ(runs[1].status, "finished");
    EXPECT_GE(done_before, 3u);
  }

  static std::string* dir_;
  std::string log_, rc_;
};

std::string* ResilienceTest::dir_ = nullptr;

TEST_F(ResilienceTest, StopSignalDrainsWithExitCode4AndTheSameCommandResumes) {
  const std::string out = *dir_ + "/drain";
  const std::string spec = WriteSpec("drain", out, "{drain_grace_s: 30}");
  StartRun(spec, out);
  ASSERT_TRUE(WaitFor([&] { return DoneUnits(out) >= 2; }, 300)) << Slurp(log_);
  // mpirun passes SIGUSR1 on to every rank (as srun does with Slurm's
  // --signal warning).
  Kill(FindProcesses("mpirun", spec), SIGUSR1);
  ASSERT_EQ(WaitExit(rc_, 120), 4) << Slurp(log_);
  EXPECT_NE(Slurp(log_).find("got SIGUSR1: draining"), std::string::npos) << Slurp(log_);
  {
    auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
    EXPECT_EQ(index->Runs().back().status, "drained");
    size_t done = 0, pending = 0;
    for (const auto& u : index->Units()) {
      EXPECT_NE(u.status, "running") << u.plan.unit_id;
      EXPECT_EQ(u.failures, 0);
      if (u.status == "done") {
        ++done;
        EXPECT_TRUE(fs::exists(out + "/" + u.shard_file)) << u.shard_file;
      }
      if (u.status == "pending") ++pending;
    }
    EXPECT_GE(done, 2u);
    EXPECT_GT(pending, 0u) << "the drain came too late to leave work";
    for (const auto& e : fs::directory_iterator(out + "/shards")) {
      EXPECT_NE(e.path().extension(), ".tmp") << "a drained shard must be closed: " << e.path();
    }
  }
  const std::string log2 = out + ".2.log";
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, log2), 0) << Slurp(log2);
  ExpectCompleteAndEqualToReference(out);
  auto runs = OpenSqliteIndexReadOnly(out + "/index.sqlite")->Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].status, "finished");
}

TEST_F(ResilienceTest, SigtermToASingleProcessRunDrainsItAndTheSameCommandResumes) {
  const std::string out = *dir_ + "/sigterm";
  const std::string spec = WriteSpec("sigterm", out, "{drain_grace_s: 30}");
  log_ = out + ".1.log";
  rc_ = out + ".1.rc";
  StartBackground(Bin() + " run " + spec, log_, rc_);
  ASSERT_TRUE(WaitFor([&] { return DoneUnits(out) >= 2; }, 300)) << Slurp(log_);
  auto pids = FindProcesses("effrobust", spec);
  ASSERT_EQ(pids.size(), 1u);
  Kill(pids, SIGTERM);
  ASSERT_EQ(WaitExit(rc_, 120), 4) << Slurp(log_);
  EXPECT_NE(Slurp(log_).find("got SIGTERM: draining"), std::string::npos) << Slurp(log_);
  EXPECT_EQ(OpenSqliteIndexReadOnly(out + "/index.sqlite")->Runs().back().status, "drained");
  const std::string log2 = out + ".2.log";
  ASSERT_EQ(Shell(Bin() + " run " + spec, log2), 0) << Slurp(log2);
  ExpectCompleteAndEqualToReference(out);
}

TEST_F(ResilienceTest, Kill9OfOneWorkerThenSameCommandCompletesWithIdenticalRows) {
  KillAndResume("kill-worker", {1}, false);
}

TEST_F(ResilienceTest, Kill9OfTheCoordinatorThenSameCommandCompletesWithIdenticalRows) {
  KillAndResume("kill-coordinator", {0}, false);
}

TEST_F(ResilienceTest, Kill9OfTheWholeJobThenSameCommandCompletesWithIdenticalRows) {
  KillAndResume("kill-job", {0, 1, 2}, true);
}

TEST_F(ResilienceTest, UnitFailingOnOneWorkerIsRetriedOnAnother) {
  const std::string out = *dir_ + "/retry";
  const std::string spec = WriteSpec("retry", out);
  const std::string log = out + ".log";
  ASSERT_EQ(Shell("EFFROBUST_TEST_FAULT=pgd@1 " + Mpirun(3) + Bin() + " run " + spec, log), 0)
      << Slurp(log);
  size_t retried = 0;
  for (const auto& u : OpenSqliteIndexReadOnly(out + "/index.sqlite")->Units()) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id;
    if (u.plan.attack == "pgd") {
      EXPECT_EQ(u.worker_rank, 2);
      EXPECT_EQ(u.attempts, u.failures + 1);
      if (u.failures == 1) ++retried;  // the error text is cleared once done
    }
  }
  EXPECT_GE(retried, 1u);
  EXPECT_NE(Slurp(log).find("injected fault (EFFROBUST_TEST_FAULT=pgd@1) on rank 1 (will retry)"),
            std::string::npos)
      << Slurp(log);
}

TEST_F(ResilienceTest, UnitFailingEverywhereEndsWithExitCode3AndStatusListsIt) {
  const std::string out = *dir_ + "/fail";
  const std::string spec = WriteSpec("fail", out, "{max_retries: 1}");
  const std::string log = out + ".log";
  ASSERT_EQ(Shell("EFFROBUST_TEST_FAULT='pgd@*' " + Mpirun(3) + Bin() + " run " + spec, log), 3)
      << Slurp(log);
  for (const auto& u : OpenSqliteIndexReadOnly(out + "/index.sqlite")->Units()) {
    if (u.plan.attack == "pgd") {
      EXPECT_EQ(u.status, "failed");
      EXPECT_EQ(u.failures, 2);
    } else {
      EXPECT_EQ(u.status, "done");
    }
  }
  const std::string status = out + ".status";
  ASSERT_EQ(Shell(Bin() + " status " + out, status), 0);
  EXPECT_NE(Slurp(status).find("8 failed"), std::string::npos) << Slurp(status);
  EXPECT_NE(Slurp(status).find("after 2 failure(s): [workers] injected fault"), std::string::npos)
      << Slurp(status);
}

TEST_F(ResilienceTest, SilentWorkerLosesItsLeaseAndItsLateResultIsDropped) {
  const std::string out = *dir_ + "/silent";
  const std::string spec = WriteSpec("silent", out, "{lease_timeout_s: 4, heartbeat_s: 1}");
  StartRun(spec, out);
  // Freeze rank 1 while it holds a unit.
  ASSERT_TRUE(WaitFor(
      [&] {
        try {
          for (const auto& u : OpenSqliteIndexReadOnly(out + "/index.sqlite")->Units()) {
            if (u.status == "running" && u.worker_rank == 1 && u.attempts == 1) return true;
          }
        } catch (const std::exception&) {
        }
        return false;
      },
      300))
      << Slurp(log_);
  auto pids = FindProcesses("effrobust", spec, 1);
  ASSERT_EQ(pids.size(), 1u);
  Kill(pids, SIGSTOP);
  const bool lost =
      WaitFor([&] { return Slurp(log_).find("silent for more than") != std::string::npos; }, 60);
  Kill(pids, SIGCONT);
  ASSERT_TRUE(lost) << Slurp(log_);
  ASSERT_EQ(WaitExit(rc_, 300), 0) << Slurp(log_);
  EXPECT_NE(Slurp(log_).find("dropped a late or duplicate result"), std::string::npos)
      << Slurp(log_);
  ExpectCompleteAndEqualToReference(out);
  size_t interrupted = 0;
  for (const auto& u : OpenSqliteIndexReadOnly(out + "/index.sqlite")->Units()) {
    interrupted += u.interruptions;
  }
  EXPECT_GE(interrupted, 1u);
}

TEST_F(ResilienceTest, SecondRunOnTheSameDirectoryIsRefusedWithExitCode2) {
  const std::string out = *dir_ + "/locked";
  const std::string spec = WriteSpec("locked", out);
  StartRun(spec, out);
  ASSERT_TRUE(WaitFor([&] { return DoneUnits(out) >= 1; }, 300)) << Slurp(log_);
  const std::string log2 = out + ".2.log";
  EXPECT_EQ(Shell(Bin() + " run " + spec, log2), 2) << Slurp(log2);
  EXPECT_NE(Slurp(log2).find("is in use by another effrobust run (pid"), std::string::npos)
      << Slurp(log2);
  ASSERT_EQ(WaitExit(rc_, 300), 0) << Slurp(log_);
  ExpectCompleteAndEqualToReference(out);
}

}  // namespace
}  // namespace effrobust
