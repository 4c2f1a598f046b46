#include "orchestrator/experiment.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/value.h"
#include "models/families.h"

namespace effrobust {
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads "<model path>.json" and checks that effrobust knows the model's arch.
// A TorchScript model has no metadata file: its record (arch "torchscript")
// is made from the spec's family and dataset.
ModelRecord CheckModelMetadata(const ExperimentSpec& spec, const ModelSpec& model) {
  if (model.torchscript) {
    ModelRecord rec;
    rec.name = model.name;
    rec.path = model.path;
    rec.arch = "torchscript";
    rec.dataset = model.dataset;
    ParamMap meta;
    meta["arch"] = rec.arch;
    meta["family"] = model.family;
    meta["dataset"] = model.dataset;
    meta["torchscript"] = model.path;
    rec.metadata_json = CanonicalJson(meta);
    return rec;
  }
  const std::string meta_path = model.path + ".json";
  const std::string where = spec.file + ":" + std::to_string(model.line) + ": model '" +
                            Printable(model.name) + "': metadata file '" + Printable(meta_path) + "'";
  std::error_code ec;
  if (!fs::is_regular_file(meta_path, ec)) {
    throw SpecError(where + " is missing (models and their metadata are written by "
                    "`effrobust train --out " + Printable(model.path) + "`)");
  }
  ModelRecord rec;
  rec.name = model.name;
  rec.path = model.path;
  rec.metadata_json = ReadFile(meta_path);
  YAML::Node meta;
  try {
    meta = YAML::Load(rec.metadata_json);
    rec.arch = meta["arch"].as<std::string>();
    rec.dataset = meta["dataset"].as<std::string>();
  } catch (const YAML::Exception& e) {
    throw SpecError(where + " is unreadable (" + Printable(e.what(), 200) +
                    "; allowed: the JSON written by `effrobust train`)");
  }
  if (FamilyOfArchName(rec.arch).empty()) {
    std::string known;
    for (const auto& [arch, family] : ArchFamilies()) known += (known.empty() ? "" : ", ") + arch;
    throw SpecError(spec.file + ":" + std::to_string(model.line) + ": model '" + model.name +
                    "' has arch '" + Printable(rec.arch) + "' (allowed: " + known + ")");
  }
  return rec;
}

// Each model runs on the dataset it was trained on (UnitDatasetOf): every model's dataset
// must be among the spec's datasets, and every dataset must be some model's.
void CheckModelDatasets(const ExperimentSpec& spec, const std::vector<ModelRecord>& models) {
  std::set<std::string> names;
  for (const auto& ds : spec.datasets) names.insert(ds.name);
  for (const ModelRecord& rec : models) {
    const std::string runs_on = UnitDatasetOf(rec.arch, rec.dataset);
    if (names.count(runs_on)) continue;
    const DatasetSpec& ds = spec.datasets.front();
    throw SpecError(spec.file + ":" + std::to_string(ds.line) + ": dataset '" + ds.name +
                    "' does not match model '" + rec.name + "' (" + Printable(rec.path) +
                    "), which was trained on '" + Printable(rec.dataset) + "'" +
                    (runs_on == rec.dataset ? "" : " and runs on '" + Printable(runs_on) + "'") +
                    " (allowed: list '" + Printable(runs_on) +
                    "' under datasets, or leave the model out)");
  }
  for (const auto& ds : spec.datasets) {
    bool used = false;
    std::string trained;
    for (const ModelRecord& rec : models) {
      used = used || UnitDatasetOf(rec.arch, rec.dataset) == ds.name;
      trained += (trained.empty() ? "" : ", ") + rec.name + " on '" + Printable(rec.dataset) + "'";
    }
    if (!used) {
      throw SpecError(spec.file + ":" + std::to_string(ds.line) + ": dataset '" + ds.name +
                      "' is not the training dataset of any model, so no unit would read it "
                      "(models: " + trained + ")");
    }
  }
}

}  // namespace

std::string IndexPath(const std::string& run_dir) { return run_dir + "/index.sqlite"; }

namespace {

// First line of `command`'s standard output ("" on failure).
std::string FirstLine(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[256];
    if (fgets(buf, sizeof(buf), p)) out = buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

namespace {

std::string AskGitCommit() {
  // The checkout the binary was built from, asked at run time so that a
  // commit made after configuring is still reported; "-dirty" marks
  // uncommitted changes. Falls back to the commit seen at configure time.
  const std::string dir = EFFROBUST_SOURCE_DIR;
  std::string head = FirstLine("git -C '" + dir + "' rev-parse --short=12 HEAD 2>/dev/null");
  if (head.empty()) return EFFROBUST_GIT_COMMIT;
  if (!FirstLine("git -C '" + dir + "' status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    head += "-dirty";
  }
  return head;
}

}  // namespace

std::string GitCommit() {
  // Spawning git for every shard cost ~10 ms of CPU each; 1024 simulated
  // workers opening their shards at once spent seconds on it (issue 8).
  static const std::string commit = AskGitCommit();
  return commit;
}

SlurmProvenance SlurmFromEnvironment() {
  SlurmProvenance slurm;
  if (const char* id = std::getenv("SLURM_JOB_ID")) slurm.job_id = id;
  if (const char* count = std::getenv("SLURM_RESTART_COUNT")) {
    char* end = nullptr;
    const long n = std::strtol(count, &end, 10);
    if (end != count && *end == '\0' && n >= 0 && n <= 1000000) {
      slurm.restart_count = static_cast<int>(n);
    }
  }
  return slurm;
}

std::vector<WorkUnit> PlanExperiment(const ExperimentSpec& spec, const PreflightOptions& checks) {
  CheckRunDirectory(spec);
  CheckDatasetFiles(spec, checks.data_dir, checks.freedict_dir);
  std::map<std::string, std::string> hashes, families, datasets;
  std::vector<ModelRecord> records;
  for (const auto& m : spec.models) {
    CheckModelFile(spec, m, nullptr);  // the file itself, before its metadata
    records.push_back(CheckModelMetadata(spec, m));
    families[m.name] = m.torchscript ? m.family : FamilyOfArchName(records.back().arch);
    datasets[m.name] = UnitDatasetOf(records.back().arch, records.back().dataset);
  }
  CheckModelDatasets(spec, records);
  for (const auto& m : spec.models) {
    CheckModelFile(spec, m, checks.validate_model, datasets[m.name], checks.validate_torchscript);
    hashes[m.name] = ModelFileHash(m.path);
  }
  std::vector<WorkUnit> units = ExpandUnits(spec, hashes, families, datasets);
  CheckUniversalFitData(spec, units);
  return units;
}

PreparedRun PrepareRun(const ExperimentSpec& spec, const RunEnvironment& env) {
  PreparedRun run;
  run.all = PlanExperiment(spec, env.checks);
  CheckDoneShards(spec);
  std::error_code ec;
  fs::create_directories(fs::path(spec.output) / "shards", ec);
  if (ec) {
    throw SpecError(spec.file + ": cannot create run directory '" + Printable(spec.output) +
                    "/shards': " + ec.message() + " (allowed: a directory path you can write)");
  }
  run.lock = AcquireRunLock(spec.output);
  run.index = OpenSqliteIndex(IndexPath(spec.output));
  if (const int64_t n = run.index->RecoverInterrupted(WallSeconds())) {
    LogWarn(std::to_string(n) + " unit(s) were left running by a run that did not end cleanly; "
            "they will be run again");
  }
  for (const auto& m : spec.models) run.index->RegisterModel(CheckModelMetadata(spec, m));

  RunRecord rec;
  rec.name = spec.name;
  rec.config_text = spec.text;
  rec.config_hash = Hex16(Fnv1a64(spec.text));
  rec.git_commit = GitCommit();
  rec.torch_version = env.torch_version;
  rec.host = env.host;
  rec.ranks = env.ranks;
  rec.started_at = WallSeconds();
  rec.status = "running";
  const SlurmProvenance slurm = SlurmFromEnvironment();
  rec.slurm_job_id = slurm.job_id;
  rec.slurm_restart_count = slurm.restart_count;
  const int64_t run_id = run.index->BeginRun(rec);

  std::vector<UnitPlan> plans;
  for (const auto& u : run.all) plans.push_back(u.ToPlan());
  run.index->PlanUnits(run_id, plans);

  // A unit counts as done only if its committed shard is really there.
  std::set<std::string> done = run.index->DoneUnits();
  for (const auto& rec_unit : run.index->Units()) {
    if (rec_unit.status != "done") continue;
    const fs::path shard = fs::path(spec.output) / rec_unit.shard_file;
    if (!fs::exists(shard)) {
      const bool tmp = fs::exists(shard.string() + ".tmp");
      LogWarn("unit " + rec_unit.plan.unit_id + " was committed to shard '" + rec_unit.shard_file +
              (tmp ? "', which was never closed (left as .tmp by a crash; kept, not read)"
                   : "', which is missing") +
              "; it will be run again");
      run.index->MarkPending(rec_unit.plan.unit_id);
      done.erase(rec_unit.plan.unit_id);
    }
  }
  for (const auto& u : run.all) {
    if (!done.count(u.id)) run.todo.push_back(u);
  }
  run.options.run_id = run_id;
  run.options.run_dir = spec.output;
  run.options.experiment = spec.name;
  run.options.config_hash = rec.config_hash;
  run.options.measure = spec.measure;
  run.options.device = spec.device;
  run.options.threads = spec.threads;
  run.options.heartbeat_s = spec.policy.heartbeat_s;
  run.options.drain_grace_s = spec.policy.drain_grace_s;
  run.policy = spec.policy;
  LogInfo("run " + std::to_string(run_id) + " of '" + spec.name + "': " +
          std::to_string(run.all.size()) + " units planned, " +
          std::to_string(run.all.size() - run.todo.size()) + " already done, " +
          std::to_string(run.todo.size()) + " to run on " +
          std::to_string(std::max(1, env.ranks - 1)) + " worker(s); results in " + spec.output);
  return run;
}

CoordinatorOptions CoordinatorOptionsFor(const PreparedRun& run, bool quiet) {
  CoordinatorOptions co;
  co.quiet = quiet;
  co.policy.max_retries = run.policy.max_retries;
  co.policy.lease_timeout_s = run.policy.lease_timeout_s;
  co.drain_grace_s = run.policy.drain_grace_s;
  return co;
}

int FinishRun(PreparedRun& run, const CoordinatorResult& result) {
  std::string status = "finished";
  int code = kExitDone;
  if (result.left > 0) {
    status = "drained";
    code = kExitDrained;
  } else if (result.failed > 0) {
    status = "failed";
    code = kExitUnitsFailed;
  }
  run.index->EndRun(run.options.run_id, status, WallSeconds());
  std::string line = "run " + std::to_string(run.options.run_id) + " " + status + ": " +
                     std::to_string(result.done) + " units done, " +
                     std::to_string(result.failed) + " failed";
  if (result.retried) line += ", " + std::to_string(result.retried) + " retried failures";
  if (result.interrupted) line += ", " + std::to_string(result.interrupted) + " interrupted";
  if (result.duplicates) line += ", " + std::to_string(result.duplicates) + " late reports dropped";
  line += " in " + std::to_string(static_cast<int>(result.seconds)) + " s; shards: " +
          std::to_string(result.shards.size());
  if (result.left > 0) {
    line += "; " + std::to_string(result.left) + " unit(s) left — run the same command again " +
            "to resume (exit code " + std::to_string(kExitDrained) + ")";
  }
  LogInfo(line);
  return code;
}

}  // namespace effrobust
