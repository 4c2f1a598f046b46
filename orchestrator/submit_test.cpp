// Table-driven tests of `effrobust submit`'s pure part: option parsing and
// validation messages, the task layout, and the rendered batch script.
#include "orchestrator/submit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace effrobust {
namespace {

std::vector<std::string> Args(std::vector<std::string> extra) {
  std::vector<std::string> a = {"exp.yaml", "--nodes", "2", "--gpus-per-node", "4", "--time", "01:00:00"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

BatchScriptContext Context() {
  BatchScriptContext c;
  c.job_name = "effrobust-study";
  c.binary = "/opt/effrobust/build/effrobust";
  c.experiment = "/home/u/exp.yaml";
  c.workdir = "/home/u";
  c.run_dir = "/scratch/u/runs/study";
  c.drain_grace_s = 60;
  c.units = 42;
  c.rendered_at = "2026-11-25 12:00:00";
  return c;
}

std::string Render(const std::vector<std::string>& args, BatchScriptContext c = Context()) {
  return RenderBatchScript(ParseSubmitArgs(args), c);
}

TEST(SubmitTest, ParsesEveryOption) {
  SubmitOptions o = ParseSubmitArgs({"--time", "1-02:03:04", "e.yaml", "--nodes", "3", "--gpus-per-node", "0",
                                     "--partition", "gpu,cpu", "--account", "proj.x", "--cpus-per-task", "4",
                                     "--workers-per-node", "5", "--launcher", "mpirun", "--signal-lead", "300",
                                     "--no-requeue", "--dry-run"});
  EXPECT_EQ(o.experiment, "e.yaml");
  EXPECT_EQ(o.nodes, 3);
  EXPECT_EQ(o.gpus_per_node, 0);
  EXPECT_EQ(o.time, "1-02:03:04");
  EXPECT_EQ(o.partition, "gpu,cpu");
  EXPECT_EQ(o.account, "proj.x");
  EXPECT_EQ(o.cpus_per_task, 4);
  EXPECT_EQ(o.workers_per_node, 5);
  EXPECT_EQ(o.launcher, Launcher::kMpirun);
  EXPECT_EQ(o.signal_lead_s, 300);
  EXPECT_FALSE(o.requeue);
  EXPECT_TRUE(o.dry_run);
  EXPECT_EQ(ParseTimeLimit(o.time), ((24 + 2) * 60 + 3) * 60 + 4);
}

TEST(SubmitTest, DefaultsAreOneCpuSrunRequeueAndOneCpuWorker) {
  SubmitOptions o = ParseSubmitArgs({"e.yaml", "--nodes", "1", "--gpus-per-node", "0", "--time", "00:10:00"});
  EXPECT_EQ(o.cpus_per_task, 1);
  EXPECT_EQ(o.workers_per_node, 1);
  EXPECT_EQ(o.launcher, Launcher::kSrun);
  EXPECT_EQ(o.signal_lead_s, 0);
  EXPECT_TRUE(o.requeue);
  EXPECT_FALSE(o.dry_run);
  EXPECT_TRUE(o.partition.empty());
}

struct BadArgs {
  std::vector<std::string> args;
  std::string message;  // a part of the one-line error
};

TEST(SubmitTest, EachBadOptionNamesOptionValueAndWhatIsAllowed) {
  const std::vector<BadArgs> cases = {
      {{"e.yaml", "--gpus-per-node", "0", "--time", "00:10:00"}, "option --nodes is required"},
      {{"e.yaml", "--nodes", "1", "--time", "00:10:00"}, "option --gpus-per-node is required"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "0"}, "option --time is required"},
      {{"--nodes", "1", "--gpus-per-node", "0", "--time", "00:10:00"}, "'submit' takes one experiment FILE, got 0"},
      {Args({"other.yaml"}), "'submit' takes one experiment FILE, got 2"},
      {Args({"--bogus"}), "unknown option '--bogus' for 'submit'"},
      {Args({"--nodes", "3"}), "option --nodes is given twice"},
      {Args({"--partition"}), "option --partition of 'submit' needs a value"},
      {{"e.yaml", "--nodes", "0", "--gpus-per-node", "0", "--time", "00:10:00"},
       "option --nodes = '0': the number of nodes must be an integer from 1 to 100000"},
      {{"e.yaml", "--nodes", "two", "--gpus-per-node", "0", "--time", "00:10:00"},
       "option --nodes = 'two': the number of nodes must be an integer from 1 to 100000"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "-1", "--time", "00:10:00"},
       "option --gpus-per-node = '-1': GPUs per node must be an integer from 0 to 64"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "65", "--time", "00:10:00"},
       "option --gpus-per-node = '65': GPUs per node must be an integer from 0 to 64"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "0", "--time", "10"},
       "option --time = '10': allowed: HH:MM:SS or D-HH:MM:SS"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "0", "--time", "01:60:00"},
       "option --time = '01:60:00': allowed: HH:MM:SS or D-HH:MM:SS with minutes and seconds below 60"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "0", "--time", "00:00:00"},
       "option --time = '00:00:00': allowed: HH:MM:SS or D-HH:MM:SS with minutes and seconds below 60, above zero"},
      {Args({"--partition", "gpu queue"}), "option --partition = 'gpu queue': allowed are letters, digits"},
      {Args({"--account", "a,b"}), "option --account = 'a,b': allowed are letters, digits, '_', '-', '.'"},
      {Args({"--cpus-per-task", "0"}), "option --cpus-per-task = '0': CPUs per task must be an integer from 1 to 1024"},
      {Args({"--workers-per-node", "2"}),
       "option --workers-per-node = '2' conflicts with --gpus-per-node 4: with GPUs there is one worker per GPU"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "0", "--time", "00:10:00", "--workers-per-node", "0"},
       "option --workers-per-node = '0': CPU workers per node must be an integer from 1 to 1024"},
      {Args({"--launcher", "mpiexec"}), "option --launcher = 'mpiexec': allowed are srun and mpirun"},
      {Args({"--signal-lead", "70000"}),
       "option --signal-lead = '70000': seconds before the time limit must be an integer from 1 to 65535"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    try {
      ParseSubmitArgs(c.args);
      ADD_FAILURE() << "accepted: " << joined;
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << joined << "\n  got: " << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
    }
  }
}

TEST(SubmitTest, LayoutPutsTheCoordinatorBesideTheWorkersOfNodeZero) {
  SubmitOptions gpu = ParseSubmitArgs(Args({}));
  TaskLayout l = LayoutOf(gpu);
  EXPECT_EQ(l.workers_per_node, 4);
  EXPECT_EQ(l.tasks_per_node, 5);
  EXPECT_EQ(l.total_tasks, 9);
  SubmitOptions cpu =
      ParseSubmitArgs({"e.yaml", "--nodes", "3", "--gpus-per-node", "0", "--workers-per-node", "2", "--time", "1:00:00"});
  l = LayoutOf(cpu);
  EXPECT_EQ(l.workers_per_node, 2);
  EXPECT_EQ(l.tasks_per_node, 3);
  EXPECT_EQ(l.total_tasks, 7);
}

struct RenderCase {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> present;
  std::vector<std::string> absent;
};

TEST(SubmitTest, RenderedScriptCarriesLayoutSignalsLogsAndRequeue) {
  const std::vector<RenderCase> cases = {
      {"gpu srun",
       Args({"--partition", "gpu", "--account", "proj"}),
       {"#!/bin/bash\n", "#SBATCH --job-name=effrobust-study\n", "#SBATCH --nodes=2\n",
        "#SBATCH --ntasks-per-node=5\n", "#SBATCH --cpus-per-task=1\n", "#SBATCH --time=01:00:00\n",
        "#SBATCH --signal=USR1@120\n", "#SBATCH --chdir=/home/u\n",
        "#SBATCH --output=/scratch/u/runs/study/slurm/slurm-%j.out\n",
        "#SBATCH --error=/scratch/u/runs/study/slurm/slurm-%j.err\n", "#SBATCH --partition=gpu\n",
        "#SBATCH --account=proj\n", "#SBATCH --gpus-per-node=4\n", "#SBATCH --requeue\n",
        "srun --mpi=pmix --kill-on-bad-exit=1 --ntasks=9 --distribution=cyclic --cpus-per-task=1 "
        "'/opt/effrobust/build/effrobust' run '/home/u/exp.yaml' &\n",
        "export OMP_NUM_THREADS=1\n", "REQUEUE_ALLOWED=1\n", "(42 units)", "GPU worker(s)",
        "trap 'drain TERM' TERM", "trap 'drain USR1' USR1", "trap 'drain INT' INT", "wait \"$step_pid\"",
        "scontrol requeue \"$SLURM_JOB_ID\"", "SLURM_RESTART_COUNT", "SLURM_JOB_ID",
        "left=$('/opt/effrobust/build/effrobust' query '/scratch/u/runs/study' \"SELECT count(*) AS n FROM units "
        "WHERE status <> 'done'\" --format csv"},
       {"{{", "}}", "mpirun", "#SBATCH --no-requeue"}},
      {"cpu mpirun no requeue",
       {"exp.yaml", "--nodes", "1", "--gpus-per-node", "0", "--workers-per-node", "2", "--time", "00:10:00",
        "--cpus-per-task", "3", "--launcher", "mpirun", "--signal-lead", "90", "--no-requeue"},
       {"#SBATCH --nodes=1\n", "#SBATCH --ntasks-per-node=3\n", "#SBATCH --cpus-per-task=3\n",
        "#SBATCH --signal=USR1@90\n", "#SBATCH --no-requeue\n",
        "mpirun -np 3 --map-by node --bind-to none '/opt/effrobust/build/effrobust' run '/home/u/exp.yaml' &\n",
        "export OMP_NUM_THREADS=3\n", "REQUEUE_ALLOWED=0\n", "CPU worker(s)"},
       {"{{", "--gpus-per-node", "--partition", "--account", "srun --mpi", "#SBATCH --requeue"}},
  };
  for (const auto& c : cases) {
    const std::string script = Render(c.args);
    for (const auto& s : c.present) EXPECT_NE(script.find(s), std::string::npos) << c.name << ": no " << s;
    for (const auto& s : c.absent) EXPECT_EQ(script.find(s), std::string::npos) << c.name << ": has " << s;
  }
}

TEST(SubmitTest, DefaultSignalLeadFollowsTheDrainGrace) {
  BatchScriptContext c = Context();
  c.drain_grace_s = 300;
  EXPECT_NE(Render(Args({}), c).find("#SBATCH --signal=USR1@360\n"), std::string::npos);
}

struct BadRender {
  std::vector<std::string> args;
  int drain_grace_s;
  std::string run_dir;
  std::string message;
};

TEST(SubmitTest, RenderRejectsLeadsThatCannotDrainAndUnwritablePaths) {
  const std::vector<BadRender> cases = {
      {Args({"--signal-lead", "60"}), 60, "/r",
       "option --signal-lead = '60' is not above the experiment's policy.drain_grace_s (60)"},
      {Args({"--signal-lead", "3600"}), 60, "/r", "option --signal-lead = '3600' must be below the time limit (01:00:00 = 3600 s)"},
      {{"e.yaml", "--nodes", "1", "--gpus-per-node", "0", "--time", "00:01:00"}, 60, "/r",
       "option --signal-lead = '120' must be below the time limit (00:01:00 = 60 s); the default is "
       "policy.drain_grace_s + 60"},
      {Args({}), 60, "/runs/my run", "run directory '/runs/my run' contains ' '"},
      {Args({}), 60, "/runs/100%", "run directory '/runs/100%' contains '%'"},
  };
  for (const auto& b : cases) {
    BatchScriptContext c = Context();
    c.drain_grace_s = b.drain_grace_s;
    c.run_dir = b.run_dir;
    try {
      Render(b.args, c);
      ADD_FAILURE() << "accepted: " << b.message;
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
    }
  }
}

TEST(SubmitTest, ShellQuoteSurvivesQuotesAndSpaces) {
  EXPECT_EQ(ShellQuote("/a b/it's"), "'/a b/it'\\''s'");
  BatchScriptContext c = Context();
  c.experiment = "/home/u/my exp's.yaml";
  EXPECT_NE(Render(Args({}), c).find("run '/home/u/my exp'\\''s.yaml' &"), std::string::npos);
}

TEST(SubmitTest, JobNameKeepsSafeCharactersOnly) {
  EXPECT_EQ(JobNameFor("quick start/v1.2"), "effrobust-quick_start_v1.2");
}

TEST(SubmitTest, FillTemplateDropsEmptyPlaceholderLinesAndCatchesDrift) {
  EXPECT_EQ(FillTemplate("a\n{{X}}\nb {{Y}}\n", {{"X", ""}, {"Y", "y"}}), "a\nb y\n");
  EXPECT_EQ(FillTemplate("a {{X}} b\n", {{"X", ""}}), "a  b\n");
  EXPECT_THROW(FillTemplate("{{X}}", {}), OrchestratorError);
  EXPECT_THROW(FillTemplate("x", {{"X", "1"}}), OrchestratorError);
  EXPECT_THROW(FillTemplate("{{X", {{"X", "1"}}), OrchestratorError);
}

}  // namespace
}  // namespace effrobust
