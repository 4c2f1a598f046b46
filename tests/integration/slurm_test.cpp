// End to end under a real Slurm (the local single-node cluster that
// slurm/local-cluster.sh starts; scripts/test.sh starts it): `effrobust
// submit` writes and submits a batch script, the job runs `effrobust run`
// under `srun --mpi=pmix`, and the index and shards come out complete. Also:
// --dry-run submits nothing, bad options exit 2, and a job told to drain
// (USR1 to its step) requeues itself once and finishes the rest.
// These tests fail, not skip, when the cluster is not up.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "results/index.h"
#include "results/shard.h"
#include "tests/support/process.h"

namespace effrobust {
namespace {

using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

struct Output {
  int rc = -1;
  std::string text;  // stdout (stderr too when `merge`)
};

// Runs `cmd` with /bin/sh, returns its exit status and standard output.
Output Capture(const std::string& cmd, bool merge = true) {
  Output o;
  FILE* p = popen((cmd + (merge ? " 2>&1" : "")).c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) o.text.append(buf, n);
  const int status = pclose(p);
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::string LastLine(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

// "Key=value" from `scontrol show job -o` output ("" if absent).
std::string Field(const std::string& record, const std::string& key) {
  const std::string needle = " " + key + "=";
  size_t at = (" " + record).find(needle);
  if (at == std::string::npos) return "";
  at += needle.size() - 1;  // index into `record`
  const size_t end = record.find_first_of(" \n", at);
  return record.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string ShowJob(const std::string& id) { return Capture("scontrol show job -o " + id).text; }

bool Finished(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
         state == "NODE_FAIL" || state == "OUT_OF_MEMORY" || state == "BOOT_FAIL" || state == "DEADLINE" ||
         state == "PREEMPTED";
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class SlurmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/effrobust-slurm-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    tag_ = new std::string(fs::path(*dir_).filename().string().substr(16));
    jobs_ = new std::vector<std::string>();
    cluster_error_ = new std::string(ClusterProblem());
    if (!cluster_error_->empty()) return;
    const Output train = Capture(Bin() + " train --out " + *dir_ + "/m.pt --epochs 1 --max-train 4000 --seed 3");
    if (train.rc != 0) *cluster_error_ = "effrobust train failed:\n" + train.text;
  }
  static void TearDownTestSuite() {
    for (const auto& id : *jobs_) Capture("scancel " + id);  // leave nothing running behind
    fs::remove_all(*dir_);
    delete dir_;
    delete tag_;
    delete jobs_;
    delete cluster_error_;
  }

  // Why the local cluster cannot take jobs ("" when it can).
  static std::string ClusterProblem() {
    const std::string hint = " Start it with `bash slurm/local-cluster.sh start` (scripts/test.sh does).";
    const Output ping = Capture("scontrol ping");
    if (ping.rc != 0 || ping.text.find("is UP") == std::string::npos) {
      return "the local Slurm cluster is not up: `scontrol ping` says: " + ping.text + hint;
    }
    const Output state = Capture("sinfo -h -o %T");
    for (const char* ok : {"idle", "mixed", "allocated", "completing"}) {
      if (state.text.find(ok) != std::string::npos) return "";
    }
    return "the local Slurm cluster has no usable node: `sinfo -h -o %T` says: " + state.text + hint;
  }

  void SetUp() override { ASSERT_TRUE(cluster_error_->empty()) << *cluster_error_; }

  // Experiment NAME with `units` DeepSloth units of 16 samples each.
  std::string WriteSpec(const std::string& name, int units, int iterations, int drain_grace_s = 60) {
    const std::string path = *dir_ + "/" + name + ".yaml";
    std::ofstream out(path);
    out << "name: " << name << "-" << *tag_ << "\nseed: 5\noutput: " << RunDir(name) << "\n"
        << "models: [{name: tiny, path: " << *dir_ << "/m.pt}]\n"
        << "datasets: [{name: fashion-mnist, split: test, range: [0, " << 16 * units << "], shard_size: 16}]\n"
        << "attacks:\n  - name: deepsloth\n    params: {iterations: " << iterations << "}\n"
        << "measure: {latency_repeats: 0, batch_size: 16}\n"
        << "policy: {drain_grace_s: " << drain_grace_s << "}\n";
    return path;
  }
  std::string RunDir(const std::string& name) { return *dir_ + "/" + name; }

  // Submits; returns the job id (the last line effrobust prints).
  std::string Submit(const std::string& spec, const std::string& extra = "") {
    const Output o = Capture(Bin() + " submit " + spec +
                             " --nodes 1 --gpus-per-node 0 --workers-per-node 2 --time 00:10:00 " + extra,
                             /*merge=*/false);
    EXPECT_EQ(o.rc, 0) << o.text;
    const std::string id = LastLine(o.text);
    EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << "no job id in:\n" << o.text;
    if (!id.empty()) jobs_->push_back(id);
    return id;
  }

  // Polls `scontrol show job` until the job has finished or `timeout_s`
  // passed; returns its last record. `on_poll` sees each record.
  template <typename F>
  std::string WaitForJob(const std::string& id, double timeout_s, F on_poll) {
    const double deadline = Now() + timeout_s;
    std::string record;
    while (Now() < deadline) {
      record = ShowJob(id);
      if (Finished(Field(record, "JobState"))) return record;
      on_poll(record);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    ADD_FAILURE() << "job " << id << " did not finish within " << timeout_s << " s; last record:\n" << record;
    return record;
  }

  // Every unit done, with rows in its shard that carry its id.
  void ExpectAllUnitsDone(const std::string& run_dir, size_t expected_units) {
    auto index = OpenSqliteIndexReadOnly(run_dir + "/index.sqlite");
    const auto units = index->Units();
    ASSERT_EQ(units.size(), expected_units);
    for (const auto& u : units) {
      ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
      EXPECT_EQ(u.attempts, 1) << "unit " << u.plan.unit_id << " ran more than once";
      const RowBatch rows = ReadShardRows(run_dir + "/" + u.shard_file, {u.row_begin, u.row_end});
      ASSERT_EQ(static_cast<int64_t>(rows.rows()), u.plan.sample_end - u.plan.sample_begin);
      for (const auto& id : rows.unit_ids()) ASSERT_EQ(id, u.plan.unit_id);
    }
  }

  static std::string* dir_;
  static std::string* tag_;
  static std::vector<std::string>* jobs_;
  static std::string* cluster_error_;
};

std::string* SlurmTest::dir_ = nullptr;
std::string* SlurmTest::tag_ = nullptr;
std::vector<std::string>* SlurmTest::jobs_ = nullptr;
std::string* SlurmTest::cluster_error_ = nullptr;

TEST_F(SlurmTest, SubmittedJobRunsEveryUnitAndLogsIntoTheRunDirectory) {
  const std::string spec = WriteSpec("full", 4, 4);
  const std::string id = Submit(spec);
  ASSERT_FALSE(id.empty());
  const double start = Now();
  const std::string record = WaitForJob(id, 240, [](const std::string&) {});
  std::printf("[slurm_test] job %s finished in %.1f s\n", id.c_str(), Now() - start);
  const std::string log = RunDir("full") + "/slurm/slurm-" + id + ".out";
  ASSERT_EQ(Field(record, "JobState"), "COMPLETED") << record << "\n" << Slurp(log)
                                                    << Slurp(RunDir("full") + "/slurm/slurm-" + id + ".err");
  EXPECT_EQ(Field(record, "ExitCode"), "0:0");
  EXPECT_EQ(Field(record, "Restarts"), "0");
  ExpectAllUnitsDone(RunDir("full"), 4);
  ASSERT_TRUE(fs::exists(log));
  EXPECT_TRUE(fs::exists(RunDir("full") + "/slurm/slurm-" + id + ".err"));
  const std::string text = Slurp(log);
  EXPECT_NE(text.find("job " + id + " restart 0"), std::string::npos) << text;
  EXPECT_NE(text.find("run exited with code 0"), std::string::npos) << text;
  // Ranks 1 and 2 did the work; rank 0 only coordinated.
  std::set<int> ranks;
  for (const auto& u : OpenSqliteIndexReadOnly(RunDir("full") + "/index.sqlite")->Units()) ranks.insert(u.worker_rank);
  EXPECT_TRUE(ranks.count(0) == 0) << "rank 0 ran a unit";
}

TEST_F(SlurmTest, DryRunWritesTheScriptAndSubmitsNothing) {
  const std::string spec = WriteSpec("dry", 2, 2);
  const Output o = Capture(Bin() + " submit " + spec +
                           " --nodes 1 --gpus-per-node 0 --workers-per-node 2 --time 00:10:00 --dry-run");
  ASSERT_EQ(o.rc, 0) << o.text;
  EXPECT_NE(o.text.find("#SBATCH --ntasks-per-node=3"), std::string::npos) << o.text;
  std::vector<fs::path> scripts;
  for (const auto& e : fs::directory_iterator(RunDir("dry") + "/slurm")) scripts.push_back(e.path());
  ASSERT_EQ(scripts.size(), 1u);
  EXPECT_EQ(scripts[0].extension(), ".sbatch");
  EXPECT_EQ(scripts[0].filename().string().rfind("job-", 0), 0u) << scripts[0];
  EXPECT_NE(o.text.find(Slurp(scripts[0].string())), std::string::npos) << "printed script differs from the file";
  const Output queue = Capture("squeue -h -n effrobust-dry-" + *tag_ + " -o %i");
  EXPECT_EQ(queue.rc, 0) << queue.text;
  EXPECT_EQ(queue.text, "") << "a dry run submitted a job";
  // A second dry run in the same second does not overwrite the first script.
  ASSERT_EQ(Capture(Bin() + " submit " + spec + " --nodes 1 --gpus-per-node 0 --time 00:10:00 --dry-run").rc, 0);
  size_t count = 0;
  for (const auto& e : fs::directory_iterator(RunDir("dry") + "/slurm")) count += e.path().extension() == ".sbatch";
  EXPECT_EQ(count, 2u);
}

TEST_F(SlurmTest, BadOptionOrExperimentExitsWith2) {
  const std::string spec = WriteSpec("bad", 2, 2);
  Output o = Capture(Bin() + " submit " + spec + " --nodes 1 --gpus-per-node 0 --time 10min --dry-run");
  EXPECT_EQ(o.rc, 2) << o.text;
  EXPECT_NE(o.text.find("option --time = '10min'"), std::string::npos) << o.text;
  const std::string broken = *dir_ + "/broken.yaml";
  std::ofstream(broken) << "name: broken\nseed: x\n";
  o = Capture(Bin() + " submit " + broken + " --nodes 1 --gpus-per-node 0 --time 00:10:00");
  EXPECT_EQ(o.rc, 2) << o.text;
  EXPECT_NE(o.text.find(broken + ":2: key 'seed'"), std::string::npos) << o.text;
}

// Needs the drain contract of `effrobust run`: on SIGUSR1 rank 0 stops
// handing out units, lets busy workers finish within policy.drain_grace_s,
// commits and exits 4 when units are left; workers ignore the signal.
TEST_F(SlurmTest, DrainedJobRequeuesItselfOnceAndFinishesTheRest) {
  const int kUnits = 12;
  const std::string spec = WriteSpec("drain", kUnits, 60, /*drain_grace_s=*/60);
  const std::string run_dir = RunDir("drain");
  const std::string id = Submit(spec);
  ASSERT_FALSE(id.empty());
  const double start = Now();
  bool signalled = false, released = false;
  double last_release = 0, pending_since = 0;
  const std::string record = WaitForJob(id, 300, [&](const std::string& rec) {
    if (!signalled) {
      // Drain once the first unit is committed.
      try {
        if (!fs::exists(run_dir + "/index.sqlite")) return;
        if (OpenSqliteIndexReadOnly(run_dir + "/index.sqlite")->DoneUnits().empty()) return;
      } catch (const std::exception&) {
        return;  // index not created yet
      }
      const Output s = Capture("scancel --signal=USR1 " + id);
      ASSERT_EQ(s.rc, 0) << s.text;
      std::printf("[slurm_test] USR1 sent to job %s after %.1f s\n", id.c_str(), Now() - start);
      signalled = true;
      return;
    }
    // Slurm 22.05 delays a requeued batch job: BeginTime = requeue time + 121 s (the credential expiry
    // window + 1). Start it 2 s after the requeue instead: a launch in the same second as the requeue gets
    // a credential no newer than the revoked one and Slurm kills the job ("Job credential revoked").
    // StartTime=now (not now+N) also makes slurmctld schedule it at once.
    if (Field(rec, "JobState") != "PENDING" || Field(rec, "Restarts") != "1" || Field(rec, "Reason") != "BeginTime") {
      return;
    }
    if (pending_since == 0) pending_since = Now();
    // The first start's step may still be winding down; a new step with the same id then cannot bind its
    // PMIx socket and srun fails to launch. Wait until no slurmstepd of this job is left.
    if (Capture("pgrep -f 'slurmstepd: \\[" + id + "\\.'").rc == 0) return;
    if (Now() - pending_since >= 2.0 && Now() - last_release > 10.0) {
      last_release = Now();
      const Output u = Capture("scontrol update JobId=" + id + " StartTime=now");
      if (u.rc == 0 && !released) {
        std::printf("[slurm_test] requeued job %s released after %.1f s\n", id.c_str(), Now() - start);
        released = true;
      }
    }
  });
  std::printf("[slurm_test] job %s finished in %.1f s\n", id.c_str(), Now() - start);
  const std::string log = run_dir + "/slurm/slurm-" + id + ".out";
  const std::string logs = Slurp(log) + Slurp(run_dir + "/slurm/slurm-" + id + ".err");
  ASSERT_TRUE(signalled) << "the job ended before any unit was done\n" << logs;
  const std::string hint = logs.find("run exited with code 138") != std::string::npos
                               ? "SIGUSR1 killed the ranks: `effrobust run` does not drain on SIGUSR1\n"
                               : "";
  ASSERT_EQ(Field(record, "JobState"), "COMPLETED") << hint << record << "\n" << logs;
  EXPECT_EQ(Field(record, "Restarts"), "1") << record;
  EXPECT_NE(logs.find("run exited with code 4"), std::string::npos) << logs;
  EXPECT_NE(logs.find("requeued job " + id), std::string::npos) << logs;
  EXPECT_NE(logs.find("job " + id + " restart 1"), std::string::npos) << logs;
  ExpectAllUnitsDone(run_dir, kUnits);
  auto index = OpenSqliteIndexReadOnly(run_dir + "/index.sqlite");
  ASSERT_EQ(index->Runs().size(), 2u);
  EXPECT_EQ(index->Runs()[1].status, "finished");
  // Slurm provenance: one run row per start of the job.
  const auto runs = index->Runs();
  EXPECT_EQ(runs[0].slurm_job_id, id);
  EXPECT_EQ(runs[1].slurm_job_id, id);
  EXPECT_EQ(runs[0].slurm_restart_count, 0);
  EXPECT_EQ(runs[1].slurm_restart_count, 1);
  EXPECT_EQ(runs[0].status, "drained") << "first start's run row";
}

}  // namespace
}  // namespace effrobust
