// effrobust: the command-line entry point. Parses the subcommand, runs it,
// and turns errors into one clear line and an exit code (2: bad input,
// 1: runtime failure). Torch stays behind workers/d1_executor.h and
// workers/dispatch_executor.h.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "attacks/catalog.h"
#include "common/error.h"
#include "common/host_allocator.h"
#include "common/log.h"
#include "common/stop_signal.h"
#include "common/value.h"
#include "evaluation/d1_table.h"
#include "evaluation/d2_table.h"
#include "evaluation/d3_table.h"
#include "evaluation/paper_tables.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/experiment.h"
#include "orchestrator/mpi_transport.h"
#include "orchestrator/status.h"
#include "results/render.h"
#include "workers/d1_executor.h"
#include "workers/dispatch_executor.h"

namespace effrobust {
namespace {

const char* kUsage =
    "usage: effrobust COMMAND [options]\n"
    "\n"
    "Measures how efficiency attacks slow down dynamic deep-learning models.\n"
    "\n"
    "commands:\n"
    "  train   [--out PATH] ...        train a dynamic model (--arch) on Fashion-MNIST\n"
    "  plan    FILE [--samples N]      list the work units of an experiment (runs nothing)\n"
    "  run     FILE [--quiet] [--samples N]\n"
    "                                  run an experiment (single process or under mpirun)\n"
    "  submit  FILE --nodes N --gpus-per-node G --time HH:MM:SS [...]\n"
    "                                  write a Slurm batch script for FILE and sbatch it\n"
    "  status  RUN_DIR                 units by status, throughput, ETA (also during a run)\n"
    "  query   RUN_DIR SQL [--format aligned|csv|json]\n"
    "                                  read-only SQL over the run's index\n"
    "  tables  RUN_DIR [--format markdown|csv|latex] [--paper]\n"
    "                                  the result tables: D1 efficacy; FLOPs, energy, latency per\n"
    "                                  attack; D2 I-Loops, I-Latency, BLEU-4; D3 tracks, tracker and\n"
    "                                  total time, MOTA, mAP per confidence threshold; --paper: the\n"
    "                                  SoK paper's Table 4, D1, D2 and D3 tables with defenses\n"
    "  attacks                         list the attacks, the models they target, their parameters\n"
    "  index   rebuild RUN_DIR [--out PATH]\n"
    "                                  rebuild the index from the run's shards\n"
    "\n"
    "`effrobust COMMAND --help` describes each command. Exit codes: 0 ok, 1 failure, 2 bad input;\n"
    "`run` also 3 (finished, some units failed) and 4 (drained by a signal, run it again).\n";

const std::map<std::string, std::string> kCommandHelp = {
    {"train",
     "usage: effrobust train [options]\n"
     "  --out PATH        checkpoint to write (default runs/models/sdn-fmnist.pt; PATH.json too)\n"
     "  --arch A          multi_exit_cnn (default; early exit), skip_net (gated blocks),\n"
     "                    adaptive_vit (token halting), captioner (Fashion-MNIST scenes),\n"
     "                    translator (FreeDict English-German, characters), detector (grid\n"
     "                    detector on Fashion-MNIST scenes; its units run on the sequences)\n"
     "  --name NAME       model name stored in the metadata (default sdn-fmnist, skipnet-fmnist,\n"
     "                    avit-fmnist, captioner-CELL, translator, detector-fmnist by arch)\n"
     "  --epochs N        training epochs (default 2; captioner: 6 decoder epochs; translator: 4;\n"
     "                    detector: 7)\n"
     "  --seed S          random seed (default 1)\n"
     "  --threads N       torch threads (default: all cores)\n"
     "  --max-train N     use only the first N training images/pairs (default: all)\n"
     "  --data DIR        Fashion-MNIST IDX directory (default /usr/share/datasets/fashion-mnist);\n"
     "                    translator: dictd directory (default /usr/share/dictd)\n"
     "  --if-missing      do nothing if PATH exists\n"
     "  --force           replace an existing checkpoint\n"
     "  adaptive_vit only:\n"
     "  --patch P         patch side in pixels, dividing 28 (default 4: 49 tokens)\n"
     "  --depth N         transformer blocks (default 6)\n"
     "  --ponder-weight W weight of the mean ponder cost in the loss (default 0.05)\n"
     "  --gate-scale G    halting score sigmoid(G * e0 - C) (default 5)\n"
     "  --gate-center C   (default 5)\n"
     "  captioner / translator only:\n"
     "  --cell C          decoder cell: lstm (captioner default) or gru (translator default)\n"
     "  captioner / detector only:\n"
     "  --scenes N        training scenes from the train split (default 10000; detector 20000)\n"
     "  multi_exit_cnn / captioner / detector only (adversarial training):\n"
     "  --adversarial M   pgd (Madry: inner L-inf PGD on the training loss) or efficiency (inner\n"
     "                    loop on the family's efficiency attack objective: DeepSloth,\n"
     "                    NICGSlowDown, Overload); trains on clean + adversarial, recorded in\n"
     "                    the checkpoint's metadata (default: standard training)\n"
     "  --epsilon E       L-inf radius of the inner loop, 0 < E <= 1 (default 8/255 = 0.0314)\n"
     "  --at-step S       inner sign step, 0 < S <= 1 (default 2/255 = 0.00784)\n"
     "  --at-steps N      inner iterations, >= 1 (default 10)\n"
     "  --at-mix F        adversarial share of each batch's loss, 0 < F <= 1 (default 0.5)\n"},
    {"attacks",
     "usage: effrobust attacks\n"
     "  Lists every attack with its category, the model families it targets, and each\n"
     "  parameter's norms, default, allowed range or choices. Experiments leave out\n"
     "  (model, attack) pairs whose family does not fit.\n"},
    {"plan",
     "usage: effrobust plan FILE [--samples N]\n"
     "  Expands the experiment grid and prints unit counts per model and attack and the first\n"
     "  unit ids, without running anything or writing any file.\n"
     "  --samples N       reduced scale: every dataset keeps its first N inputs (a frame of\n"
     "                    fashion-mnist-sequences counts as one) and the output directory\n"
     "                    becomes OUTPUT-samplesN (the YAML key `samples: N` does the same\n"
     "                    without renaming the output)\n"},
    {"run",
     "usage: effrobust run FILE [--quiet]\n"
     "  Runs every unit of FILE that is not done yet. Without MPI the process coordinates and\n"
     "  works itself; under `mpirun -np N` rank 0 coordinates and ranks 1..N-1 work.\n"
     "  SIGTERM, SIGUSR1 or SIGINT drain the run: no new units, busy workers get\n"
     "  policy.drain_grace_s to finish, results are committed. Running the same command\n"
     "  again resumes (also after a crash or kill -9). Failed units are retried up to\n"
     "  policy.max_retries times. Exit codes: 0 all done, 1 error, 2 bad input,\n"
     "  3 finished with failed units (see `effrobust status`), 4 drained with units left.\n"
     "  --quiet           only warnings and the final summary\n"
     "  --samples N       reduced scale, as for plan (OUTPUT-samplesN)\n"},
    {"submit",
     "usage: effrobust submit FILE --nodes N --gpus-per-node G --time HH:MM:SS [options]\n"
     "  Writes RUN_DIR/slurm/job-YYYYmmdd-HHMMSS.sbatch for FILE, prints it and submits it with\n"
     "  `sbatch --parsable`; the job id is the last line printed. Rank 0 (CPU-only coordinator)\n"
     "  and the workers of node 0 share node 0; one worker per GPU, or W CPU workers per node.\n"
     "  --nodes N               nodes (1..100000)\n"
     "  --gpus-per-node G       GPUs per node, one worker each (0..64; 0 = CPU workers)\n"
     "  --time HH:MM:SS         time limit (also D-HH:MM:SS)\n"
     "  --partition P           partition (default: the cluster's default)\n"
     "  --account A             account (default: yours)\n"
     "  --cpus-per-task C       CPUs per rank, also OMP_NUM_THREADS (default 1)\n"
     "  --workers-per-node W    CPU workers per node when G = 0 (default 1)\n"
     "  --launcher srun|mpirun  srun --mpi=pmix (default) or mpirun\n"
     "  --signal-lead SECONDS   USR1 to the ranks this long before the time limit; rank 0 drains\n"
     "                          (default policy.drain_grace_s + 60)\n"
     "  --no-requeue            a drained job ends instead of requeueing itself\n"
     "  --dry-run               write and print the script, do not submit\n"
     "  See docs/operations.md, \"Submitting to Slurm\".\n"},
    {"status",
     "usage: effrobust status RUN_DIR\n"
     "  Units by status, the latest run's throughput and ETA. Safe while a run is going.\n"},
    {"query",
     "usage: effrobust query RUN_DIR \"SQL\" [--format aligned|csv|json]\n"
     "  Runs one read-only SQL statement on RUN_DIR/index.sqlite (tables runs, units, metrics,\n"
     "  models; see docs/results-format.md).\n"},
    {"tables",
     "usage: effrobust tables RUN_DIR [--format markdown|csv|latex] [--paper]\n"
     "  The D1 table per model x attack x parameters: clean/adversarial accuracy, efficacy at\n"
     "  RAD 5 % and 15 % and its drop, FLOPs ratio and latency ratio (adversarial / clean).\n"
     "  With D2 units (captioners, translators), the D2 table per model x attack x parameters:\n"
     "  mean and max I-Loops and I-Latency, mean decoder steps clean/adversarial, BLEU-4.\n"
     "  With D3 units (detector + tracker), the D3 table per model x confidence threshold x\n"
     "  {benign, attack x parameters}: tracks held per frame (mean, max), tracks started, tracker\n"
     "  and total time per sequence, MOTA against ground truth and against the clean run, mAP at\n"
     "  IoU 0.5 / 0.75, and the attack's tracks and total-time ratios to the clean run.\n"
     "  The D1 tables are left out of a run with D2 or D3 units and no D1 units.\n"
     "  --paper           instead, the SoK paper's four tables, each under a heading with notes\n"
     "                    naming the defenses behind \"JPEG\" (block_jpeg, else jpeg) and\n"
     "                    \"smoothing\" (nl_means, else median):\n"
     "                    Table 4: attack x victim x norm or threshold -> the input detector's\n"
     "                      clean / adversarial / mean rates on plain, JPEG and smoothed inputs,\n"
     "                      AUC, latency per input;\n"
     "                    D1: early-exit victim x norm x {clean, attack, attack + JPEG, attack +\n"
     "                      smoothing, other defenses and caps, adaptive (BPDA), clean + defense}\n"
     "                      -> accuracy and efficacy at RAD 5 % / 15 % (skip-gate and adaptive-\n"
     "                      token models have no efficacy and are left out: see the plain tables);\n"
     "                    D2: captioner x norm x setting -> mean / max I-Loops and I-Latency, BLEU-4;\n"
     "                    D3: detector x threshold x {benign, attack, attack + JPEG, attack +\n"
     "                      smoothing, clean + JPEG, clean + smoothing, ...} -> tracks, tracker\n"
     "                      and total time, MOTA, mAP at IoU 0.5.\n"
     "                    Models whose metadata has \"adversarial\" are labelled \"after AT (...)\";\n"
     "                    cells without measured data are \"–\". See docs/results-format.md.\n"},
    {"index", kIndexHelp},
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--x" -> value ("" for flags)
};

Args ParseArgs(int argc, char** argv, int start, const std::vector<std::string>& flags,
               const std::vector<std::string>& valued, const std::string& command) {
  Args a;
  for (int i = start; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      bool is_flag = false, is_valued = false;
      for (const auto& f : flags) is_flag = is_flag || f == s;
      for (const auto& v : valued) is_valued = is_valued || v == s;
      if (is_flag) {
        a.options[s] = "";
      } else if (is_valued) {
        if (i + 1 >= argc) throw SpecError("option " + s + " of '" + command + "' needs a value");
        a.options[s] = argv[++i];
      } else {
        throw SpecError("unknown option '" + s + "' for '" + command + "' (see effrobust " +
                        command + " --help)");
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

long long IntOption(const Args& a, const std::string& key, long long fallback) {
  auto it = a.options.find(key);
  if (it == a.options.end()) return fallback;
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used != it->second.size() || v < 0) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw SpecError("option " + key + " = '" + it->second + "' must be a non-negative integer");
  }
}

double RealOption(const Args& a, const std::string& key, double fallback) {
  auto it = a.options.find(key);
  if (it == a.options.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x >= 0) || !std::isfinite(x)) {
    throw SpecError("option " + key + " = '" + v + "' must be a finite number >= 0");
  }
  return x;
}

void RequirePositional(const Args& a, size_t n, const std::string& command) {
  if (a.positional.size() != n) {
    throw SpecError("'" + command + "' takes " + std::to_string(n) + " argument(s), got " +
                    std::to_string(a.positional.size()) + " (see effrobust " + command + " --help)");
  }
}

// What plan and run check before any unit runs; models are loaded with torch.
PreflightOptions Preflight() {
  PreflightOptions checks;
  checks.validate_model = CheckModelLoads;
  checks.validate_torchscript = CheckTorchScriptModelLoads;
  return checks;
}

// Opens RUN_DIR's index for reading. A RUN_DIR without a readable index is
// bad input (SpecError), not a failure.
std::unique_ptr<ResultIndex> OpenRunIndex(const std::string& run_dir) {
  const std::string path = IndexPath(run_dir);
  if (!std::ifstream(path).good()) {
    throw SpecError("RUN_DIR '" + Printable(run_dir) + "' has no readable index '" + Printable(path) +
                    "' (allowed: a directory written by `effrobust run`)");
  }
  try {
    return OpenSqliteIndexReadOnly(path);
  } catch (const ResultsError& e) {
    throw SpecError("RUN_DIR '" + Printable(run_dir) + "': " + e.what() +
                    " (allowed: an index written by `effrobust run`; restore it from a backup)");
  }
}

// --adversarial and its --epsilon / --at-* options into `r` (after r.arch is
// set). Throws SpecError naming the option, its value and what is allowed.
void ParseAdversarialOptions(const Args& a, TrainRequest* r) {
  const char* const kAtOptions[] = {"--epsilon", "--at-step", "--at-steps", "--at-mix"};
  if (!a.options.count("--adversarial")) {
    for (const char* o : kAtOptions) {
      if (a.options.count(o)) {
        throw SpecError(std::string("option ") + o + " applies with --adversarial only");
      }
    }
    return;
  }
  r->adversarial = a.options.at("--adversarial");
  if (r->adversarial != "pgd" && r->adversarial != "efficiency") {
    throw SpecError("option --adversarial '" + r->adversarial +
                    "' is not a mode (allowed: pgd, efficiency)");
  }
  if (r->arch != "multi_exit_cnn" && r->arch != "captioner" && r->arch != "detector") {
    throw SpecError("option --adversarial does not apply to --arch '" + r->arch +
                    "' (allowed: multi_exit_cnn, captioner, detector)");
  }
  r->at_epsilon = RealOption(a, "--epsilon", r->at_epsilon);
  r->at_step = RealOption(a, "--at-step", r->at_step);
  r->at_steps = IntOption(a, "--at-steps", r->at_steps);
  r->at_mix = RealOption(a, "--at-mix", r->at_mix);
  if (!(r->at_epsilon > 0 && r->at_epsilon <= 1)) {
    throw SpecError("option --epsilon = '" + a.options.at("--epsilon") +
                    "' is out of range (allowed: 0 < epsilon <= 1, e.g. 0.0314 for 8/255)");
  }
  if (!(r->at_step > 0 && r->at_step <= 1)) {
    throw SpecError("option --at-step = '" + a.options.at("--at-step") +
                    "' is out of range (allowed: 0 < step <= 1)");
  }
  if (r->at_steps < 1) {
    throw SpecError("option --at-steps must be >= 1, got " + a.options.at("--at-steps"));
  }
  if (!(r->at_mix > 0 && r->at_mix <= 1)) {
    throw SpecError("option --at-mix = '" + a.options.at("--at-mix") +
                    "' is out of range (allowed: 0 < mix <= 1)");
  }
}

int Train(const Args& a) {
  TrainRequest r;
  r.out_path = a.options.count("--out") ? a.options.at("--out") : "runs/models/sdn-fmnist.pt";
  if (a.options.count("--if-missing") && std::ifstream(r.out_path).good()) {
    LogInfo("model " + r.out_path + " exists; not training (--if-missing)");
    return 0;
  }
  if (a.options.count("--name")) r.name = a.options.at("--name");
  if (a.options.count("--arch")) r.arch = a.options.at("--arch");
  if (a.options.count("--data")) r.data_dir = a.options.at("--data");
  r.epochs = static_cast<int>(IntOption(
      a, "--epochs",
      r.arch == "captioner" ? 6 : r.arch == "translator" ? 4 : r.arch == "detector" ? 7 : 2));
  r.seed = IntOption(a, "--seed", 1);
  r.threads = static_cast<int>(IntOption(a, "--threads", 0));
  r.max_train = IntOption(a, "--max-train", 0);
  r.vit_patch = IntOption(a, "--patch", 0);
  r.vit_depth = IntOption(a, "--depth", 0);
  r.vit_ponder_weight = RealOption(a, "--ponder-weight", -1);
  r.vit_gate_scale = RealOption(a, "--gate-scale", -1);
  r.vit_gate_center = RealOption(a, "--gate-center", -1);
  if (r.arch != "adaptive_vit") {
    for (const char* o : {"--patch", "--depth", "--ponder-weight", "--gate-scale", "--gate-center"}) {
      if (a.options.count(o)) {
        throw SpecError(std::string("option ") + o + " applies to --arch adaptive_vit only, not '" +
                        r.arch + "'");
      }
    }
  }
  if (a.options.count("--cell")) r.cell = a.options.at("--cell");
  r.scenes = IntOption(a, "--scenes", 0);
  if (r.arch != "captioner" && r.arch != "translator" && a.options.count("--cell")) {
    throw SpecError("option --cell applies to --arch captioner or translator only, not '" +
                    r.arch + "'");
  }
  if (r.arch != "captioner" && r.arch != "detector" && a.options.count("--scenes")) {
    throw SpecError("option --scenes applies to --arch captioner or detector only, not '" +
                    r.arch + "'");
  }
  if (a.options.count("--cell") && r.cell != "lstm" && r.cell != "gru") {
    throw SpecError("option --cell '" + r.cell + "' is not a decoder cell (allowed: lstm, gru)");
  }
  if (a.options.count("--scenes") && r.scenes < 1) {
    throw SpecError("option --scenes must be >= 1, got " + a.options.at("--scenes"));
  }
  ParseAdversarialOptions(a, &r);
  r.force = a.options.count("--force") > 0;
  TrainAndSaveModel(r);
  return 0;
}

// The experiment file of `plan` or `run`, at the reduced scale of
// --samples N if given (spec.h: LimitSamples).
ExperimentSpec LoadCommandSpec(const Args& a) {
  ExperimentSpec spec = LoadSpec(a.positional[0]);
  if (a.options.count("--samples")) {
    LimitSamples(&spec, IntOption(a, "--samples", 0), true);
    LogInfo("--samples " + a.options.at("--samples") + ": every dataset reduced to its first " +
            a.options.at("--samples") + " inputs; output " + spec.output);
  }
  return spec;
}

int Plan(const Args& a) {
  RequirePositional(a, 1, "plan");
  ExperimentSpec spec = LoadCommandSpec(a);
  std::vector<WorkUnit> units = PlanExperiment(spec, Preflight());
  std::map<std::pair<std::string, std::string>, size_t> counts;
  for (const auto& u : units) counts[{u.model, u.attack}]++;
  std::printf("experiment '%s' (seed %lld, output %s): %zu units\n", spec.name.c_str(),
              static_cast<long long>(spec.seed), spec.output.c_str(), units.size());
  std::printf("%-20s %-20s %s\n", "model", "attack", "units");
  for (const auto& [k, n] : counts) std::printf("%-20s %-20s %zu\n", k.first.c_str(), k.second.c_str(), n);
  std::printf("first units:\n");
  for (size_t i = 0; i < units.size() && i < 8; ++i) {
    const auto& u = units[i];
    std::printf("  %s  %s %s [%lld, %lld) %s %s\n", u.id.c_str(), u.model.c_str(), u.split.c_str(),
                static_cast<long long>(u.begin), static_cast<long long>(u.end), u.attack.c_str(),
                CanonicalJson(u.params).c_str());
  }
  return 0;
}

// Rank 0's side of a run over `transport` (workers at ranks 1..size-1).
// Returns the RunExitCode; `unresponsive` gets the workers that never
// closed their shard.
int CoordinateRun(const ExperimentSpec& spec, Transport& transport, int ranks, bool quiet,
                  std::vector<int>* unresponsive) {
  RunEnvironment env;
  env.ranks = ranks;
  env.torch_version = TorchVersion();
  env.host = HostName();
  env.quiet = quiet;
  env.checks = Preflight();
  PreparedRun run = PrepareRun(spec, env);
  CoordinatorResult result =
      Coordinate(transport, *run.index, run.todo, run.options, CoordinatorOptionsFor(run, quiet));
  const int code = FinishRun(run, result);
  *unresponsive = result.unresponsive;
  std::printf("%s", RenderStatus(spec.output).c_str());
  std::fflush(stdout);
  return code;
}

int Run(int argc, char** argv, const Args& a) {
  RequirePositional(a, 1, "run");
  const bool quiet = a.options.count("--quiet") > 0;
  SetLogQuiet(quiet);
  // SIGTERM/SIGUSR1/SIGINT drain the run instead of killing it (every rank:
  // Slurm signals all tasks; rank 0 decides, workers finish their unit).
  InstallStopSignalHandlers();
  if (LaunchedUnderMpi()) {
    MpiSession mpi(&argc, &argv);
    auto transport = mpi.WorldTransport();
    SetLogRank(transport->rank());
    if (transport->size() > 1) {
      if (transport->rank() == 0) {
        try {
          ExperimentSpec spec = LoadCommandSpec(a);
          std::vector<int> unresponsive;
          const int code = CoordinateRun(spec, *transport, transport->size(), quiet, &unresponsive);
          if (!unresponsive.empty()) {
            // Silent workers would block MPI_Finalize: end the job. The index
            // is committed; their open shards stay .tmp and are redone.
            std::fprintf(stderr, "effrobust: %zu worker rank(s) did not stop; aborting the job\n",
                         unresponsive.size());
            MpiSession::Abort(code == kExitDone ? kExitError : code);
          }
          return code;
        } catch (const SpecError& e) {
          // Bad input is found before any unit runs: stop the workers cleanly.
          std::fprintf(stderr, "effrobust: %s\n", Printable(e.what(), 4000).c_str());
          StopWorkers(*transport);
          return kExitBadInput;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "effrobust: %s\n", Printable(e.what(), 4000).c_str());
          MpiSession::Abort(kExitError);
        }
      }
      ExecutorPlacement placement{mpi.local_worker_index(), mpi.local_workers()};
      auto executor = MakeWorkerExecutor(placement);
      RunWorker(*transport, *executor, {transport->rank(), HostName()});
      return 0;
    }
  }
  // Single process: rank 0 coordinates and runs one worker in a thread.
  ExperimentSpec spec = LoadCommandSpec(a);
  InProcessHub hub(2);
  auto coordinator = hub.Endpoint(0);
  auto worker_end = hub.Endpoint(1);
  std::thread worker([&] {
    auto executor = MakeWorkerExecutor({0, 1});
    RunWorker(*worker_end, *executor, {0, HostName()});
  });
  int rc = kExitError;
  try {
    std::vector<int> unresponsive;
    rc = CoordinateRun(spec, *coordinator, 1, quiet, &unresponsive);
    // A worker still busy after the drain deadline stops after its batch.
    if (!unresponsive.empty()) coordinator->Send(1, StopMessage());
  } catch (...) {
    coordinator->Send(1, StopMessage());  // let the worker close its shard
    worker.join();
    throw;
  }
  worker.join();
  return rc;
}

int Status(const Args& a) {
  RequirePositional(a, 1, "status");
  OpenRunIndex(a.positional[0]);
  std::string text;
  try {
    text = RenderStatus(a.positional[0]);
  } catch (const ResultsError& e) {
    throw SpecError("RUN_DIR '" + Printable(a.positional[0]) + "': " + e.what() +
                    " (allowed: an index written by `effrobust run`; restore it from a backup)");
  }
  std::printf("%s", text.c_str());
  return 0;
}

int Query(const Args& a) {
  RequirePositional(a, 2, "query");
  TableFormat f = ParseTableFormat(a.options.count("--format") ? a.options.at("--format") : "aligned");
  QueryResult r = RunQuery(IndexPath(a.positional[0]), a.positional[1]);
  std::printf("%s", RenderTable(r, f).c_str());
  return 0;
}

int Tables(const Args& a) {
  RequirePositional(a, 1, "tables");
  TableFormat f = ParseTableFormat(a.options.count("--format") ? a.options.at("--format") : "markdown");
  auto index = OpenRunIndex(a.positional[0]);
  const bool paper = a.options.count("--paper") > 0;
  std::vector<UnitRecord> units;
  std::vector<ModelRecord> models;  // --paper: for the after-AT labels
  try {
    units = index->Units();
    if (paper) models = index->Models();
  } catch (const ResultsError& e) {
    throw SpecError("RUN_DIR '" + Printable(a.positional[0]) + "': " + e.what() +
                    " (allowed: an index written by `effrobust run`; restore it from a backup)");
  }
  if (paper) {
    std::printf("%s", RenderPaperTables(PaperTables(units, models), f).c_str());
    return 0;
  }
  // One titled section per table; the title line is a comment in CSV and
  // LaTeX output.
  auto section = [&](const std::string& title, const QueryResult& table, bool first) {
    const char* lead = f == TableFormat::kCsv ? "# " : f == TableFormat::kLatex ? "% " : "### ";
    std::printf("%s%s%s\n%s", first ? "" : "\n", lead, title.c_str(),
                f == TableFormat::kMarkdown ? "\n" : "");
    std::printf("%s", RenderTable(table, f).c_str());
  };
  const std::vector<std::pair<std::string, QueryResult>> tables = {
      {"D1 early exit: DeepSloth efficacy (area under the early-exit curve)", D1Table(units)},
      {"D1 all families: cost of dynamic inference, adversarial vs clean", D1CostTable(units)},
      {"D2 decoders: I-Loops ((steps_adv + 1) / (steps_clean + 1) - 1), I-Latency, BLEU-4",
       D2Table(units)},
      {"D3 detection + tracking: tracks held, tracker and total time, MOTA, mAP per confidence "
       "threshold",
       D3Table(units)},
  };
  // The D1 tables as before whenever the run has D1 rows (or no rows at
  // all); the D2 and D3 tables when they have rows.
  const bool has_d1 = !tables[0].second.rows.empty() || !tables[1].second.rows.empty();
  const bool has_d2_or_d3 = !tables[2].second.rows.empty() || !tables[3].second.rows.empty();
  bool first = true;
  for (size_t i = 0; i < tables.size(); ++i) {
    if (i < 2 ? (!has_d1 && has_d2_or_d3) : tables[i].second.rows.empty()) continue;
    section(tables[i].first, tables[i].second, first);
    first = false;
  }
  return 0;
}

int ListAttacks() {
  for (const auto& a : AttackCatalog()) {
    std::string families;
    for (const auto& f : a.families) families += (families.empty() ? "" : ", ") + f;
    std::printf("%s  [%s; targets %s]\n  %s\n", a.name.c_str(), a.category.c_str(),
                families.empty() ? "every family" : families.c_str(), a.description.c_str());
    for (const auto& p : a.params) {
      std::string defaults;
      for (const auto& [norm, v] : p.defaults) {
        defaults += (defaults.empty() ? "" : ", ") + (norm == "*" ? v : norm + ": " + v);
      }
      std::string allowed;
      if (p.kind == ParamSpec::Kind::kChoice) {
        for (const auto& c : p.choices) allowed += (allowed.empty() ? "" : "|") + c;
      } else {
        allowed = FormatNumber(p.min) + ".." + FormatNumber(p.max) +
                  (p.kind == ParamSpec::Kind::kInt ? " (whole)" : "");
      }
      std::string norms;
      for (const auto& n : p.norms) norms += (norms.empty() ? "" : ",") + n;
      std::printf("    %-12s default %-22s allowed %-18s %s%s\n", p.name.c_str(), defaults.c_str(),
                  allowed.c_str(), p.help.c_str(),
                  norms.empty() ? "" : (" (norm " + norms + " only)").c_str());
    }
  }
  return 0;
}

int Main(int argc, char** argv) {
  TuneHostAllocator();  // before any thread or tensor (common/host_allocator.h)
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::printf("%s", kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (!kCommandHelp.count(command)) {
    std::fprintf(stderr, "effrobust: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("%s", kCommandHelp.at(command).c_str());
      return 0;
    }
  }
  if (command == "train") {
    return Train(ParseArgs(argc, argv, 2, {"--force", "--if-missing"},
                           {"--out", "--arch", "--name", "--epochs", "--seed", "--threads", "--max-train", "--data",
                            "--patch", "--depth", "--ponder-weight", "--gate-scale", "--gate-center",
                            "--cell", "--scenes", "--adversarial", "--epsilon", "--at-step",
                            "--at-steps", "--at-mix"},
                           command));
  }
  if (command == "attacks") {
    ParseArgs(argc, argv, 2, {}, {}, command);
    return ListAttacks();
  }
  if (command == "plan") return Plan(ParseArgs(argc, argv, 2, {}, {"--samples"}, command));
  if (command == "run") {
    return Run(argc, argv, ParseArgs(argc, argv, 2, {"--quiet"}, {"--samples"}, command));
  }
  if (command == "submit") return SubmitCommand(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "status") return Status(ParseArgs(argc, argv, 2, {}, {}, command));
  if (command == "query") return Query(ParseArgs(argc, argv, 2, {}, {"--format"}, command));
  if (command == "index") return IndexCommand(argc, argv);
  return Tables(ParseArgs(argc, argv, 2, {"--paper"}, {"--format"}, command));
}

}  // namespace
}  // namespace effrobust

// Errors end as one line: "effrobust: <message>" with control characters
// escaped.
int main(int argc, char** argv) {
  try {
    return effrobust::Main(argc, argv);
  } catch (const effrobust::SpecError& e) {
    std::fprintf(stderr, "effrobust: %s\n", effrobust::Printable(e.what(), 4000).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "effrobust: %s\n", effrobust::Printable(e.what(), 4000).c_str());
    return 1;
  }
}
