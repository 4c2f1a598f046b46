// Rebuilding the index from the shards (see orchestrator/rebuild.h).
#include "orchestrator/rebuild.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include "common/error.h"
#include "common/value.h"
#include "orchestrator/experiment.h"
#include "orchestrator/plan.h"
#include "results/index.h"
#include "results/shard.h"
#include "results/unit_record.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;

constexpr char kShardsDir[] = "shards";
constexpr char kPartialSuffix[] = ".rebuilding";

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A record found in a shard, with where it was found.
struct Candidate {
  DecodedUnitRecord record;
  std::string shard_file;  // relative to the run directory
};

// Order of preference among records of one unit: latest run, then first to
// finish, then shard name and row.
bool Preferred(const Candidate& a, const Candidate& b) {
  const UnitCompletion& x = a.record.completion;
  const UnitCompletion& y = b.record.completion;
  return std::make_tuple(-x.run_id, x.finished_at, a.shard_file, x.row_begin) <
         std::make_tuple(-y.run_id, y.finished_at, b.shard_file, y.row_begin);
}

// What the shards say about one run.
struct RunInfo {
  int max_rank = -1;
  int lowest_rank = -1;
  ShardAttributes lowest_rank_attributes;  // of its lowest-rank shard
  double started_at = 0;
  double ended_at = 0;
  bool has_times = false;
};

int64_t ParseId(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') {
    throw ResultsError(what + " = '" + text + "' is not an integer");
  }
  return v;
}

class Rebuilder {
 public:
  Rebuilder(std::string run_dir, std::string target)
      : run_dir_(std::move(run_dir)), target_(std::move(target)) {
    report_.index_path = target_;
  }

  RebuildReport Run() {
    CheckTargets();
    ScanShards();
    WriteIndex();
    return report_;
  }

 private:
  void Warn(const std::string& message) { report_.warnings.push_back(message); }

  void CheckTargets() {
    const std::string shards = run_dir_ + "/" + kShardsDir;
    if (!fs::is_directory(shards)) {
      throw SpecError("'" + run_dir_ + "' is not a run directory: '" + shards + "' does not exist");
    }
    const std::string swap =
        " (rebuild never overwrites; name a new file with --out PATH and "
        "swap it in as docs/operations.md describes)";
    if (Exists(target_)) throw SpecError("index '" + target_ + "' already exists" + swap);
    const std::string partial = target_ + kPartialSuffix;
    for (const std::string& p : {partial, partial + "-journal", partial + "-wal"}) {
      if (Exists(p)) {
        throw SpecError("'" + p + "' exists: an earlier rebuild did not finish; remove it " +
                        "(it is a partial copy, not the index) and run again");
      }
    }
  }

  // Reads every complete shard's attributes and unit records.
  void ScanShards() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(run_dir_ + "/" + kShardsDir)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string relative = std::string(kShardsDir) + "/" + name;
      if (EndsWith(name, ".h5.tmp")) {
        report_.incomplete.push_back(relative);
      } else if (EndsWith(name, ".h5")) {
        ReadShard(relative);
      }
    }
  }

  void ReadShard(const std::string& relative) {
    const std::string path = run_dir_ + "/" + relative;
    ShardAttributes attrs;
    int64_t rows = 0;
    std::vector<StoredUnitRecord> stored;
    int64_t run_id = 0;
    int rank = 0;
    try {
      attrs = ReadShardAttributes(path);
      rows = ShardRowCount(path);
      stored = ReadShardUnitRecords(path);
      run_id = ParseId(attrs["run_id"], "attribute run_id");
      rank = static_cast<int>(ParseId(attrs["rank"], "attribute rank"));
    } catch (const Error& e) {
      Warn("skipped shard " + relative + ": " + e.what());
      return;
    }
    ++report_.shards;
    RunInfo& run = runs_[run_id];
    run.max_rank = std::max(run.max_rank, rank);
    if (run.lowest_rank < 0 || rank < run.lowest_rank) {
      run.lowest_rank = rank;
      run.lowest_rank_attributes = attrs;
    }
    if (stored.empty() && rows > 0) {
      Warn("shard " + relative + " has " + std::to_string(rows) +
           " rows but no unit records (written before records existed): its units are not in "
           "the rebuilt index");
    }
    for (const StoredUnitRecord& s : stored) {
      Candidate c;
      try {
        c.record = DecodeUnitRecord(s.record_json);
      } catch (const Error& e) {
        Warn("skipped a record of unit '" + s.unit_id + "' in " + relative + ": " + e.what());
        continue;
      }
      UnitCompletion& done = c.record.completion;
      const std::string where = "unit '" + s.unit_id + "' in " + relative;
      if (done.unit_id != s.unit_id) {
        Warn("skipped " + where + ": its record is for unit '" + done.unit_id + "'");
        continue;
      }
      if (done.row_begin < 0 || done.row_end < done.row_begin || done.row_end > rows) {
        Warn("skipped " + where + ": rows [" + std::to_string(done.row_begin) + ", " +
             std::to_string(done.row_end) + ") are not in the shard (" + std::to_string(rows) +
             " rows)");
        continue;
      }
      if (done.shard_file != relative) {
        Warn(where + ": record names shard '" + done.shard_file + "'; using " + relative);
        done.shard_file = relative;
      }
      c.shard_file = relative;
      RunInfo& unit_run = runs_[done.run_id];
      if (!unit_run.has_times || done.started_at < unit_run.started_at) {
        unit_run.started_at = done.started_at;
      }
      if (!unit_run.has_times || done.finished_at > unit_run.ended_at) {
        unit_run.ended_at = done.finished_at;
      }
      unit_run.has_times = true;
      ++report_.records;
      candidates_[done.unit_id].push_back(std::move(c));
    }
  }

  // Creates "<target>.rebuilding" exclusively, fills it, links it to the
  // target (never replacing) and removes the temporary name.
  void WriteIndex() {
    const std::string partial = target_ + kPartialSuffix;
    const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw ResultsError("cannot create '" + partial + "': " + std::strerror(errno));
    }
    ::close(fd);  // an empty file is an empty database; SQLite opens it next
    {
      std::unique_ptr<ResultIndex> index = OpenSqliteIndex(partial);
      WriteRuns(*index);
      WriteModels(*index);
      WriteUnits(*index);
    }
    for (const char* suffix : {"-journal", "-wal"}) {
      if (Exists(partial + suffix)) {
        throw ResultsError("'" + partial + suffix +
                           "' is left after closing the new index; "
                           "not publishing '" +
                           partial + "'");
      }
    }
    if (::link(partial.c_str(), target_.c_str()) != 0) {
      const int err = errno;
      throw ResultsError("cannot link '" + partial + "' to '" + target_ +
                         "': " + std::strerror(err) + " (the rebuilt index is complete in '" +
                         partial + "')");
    }
    ::unlink(partial.c_str());
  }

  void WriteRuns(ResultIndex& index) {
    for (auto& [run_id, info] : runs_) {
      RunRecord r;
      r.run_id = run_id;
      const ShardAttributes& a = info.lowest_rank_attributes;
      auto attr = [&a](const std::string& key) {
        auto it = a.find(key);
        return it == a.end() ? std::string() : it->second;
      };
      r.name = attr("experiment");
      r.config_hash = attr("config_hash");
      r.git_commit = attr("git_commit");
      r.slurm_job_id = attr("slurm_job_id");
      r.slurm_restart_count = std::atoi(attr("slurm_restart_count").c_str());
      // Workers are ranks 1..N-1 under MPI; a single process is rank 0.
      r.ranks = std::max(1, info.max_rank + 1);
      r.started_at = info.started_at;
      index.BeginRun(r);
      index.EndRun(run_id, "rebuilt", info.ended_at);
      report_.runs.push_back(run_id);
    }
  }

  // One models row per model name, from the checkpoint's metadata file.
  void WriteModels(ResultIndex& index) {
    std::map<std::string, const UnitPlan*> models;
    for (const auto& [id, list] : candidates_) {
      for (const Candidate& c : list) models.emplace(c.record.plan.model, &c.record.plan);
    }
    for (const auto& [name, plan] : models) {
      const std::string meta_path = plan->model_path + ".json";
      if (plan->model_path.empty() || !fs::exists(meta_path)) {
        Warn("model '" + name + "': metadata '" + meta_path +
             "' not found (paths are relative to where `effrobust run` ran); no models row");
        continue;
      }
      ModelRecord m;
      m.name = name;
      m.path = plan->model_path;
      m.metadata_json = ReadText(meta_path);
      try {
        const YAML::Node meta = YAML::Load(m.metadata_json);
        if (meta["arch"]) m.arch = meta["arch"].as<std::string>();
        if (meta["dataset"]) m.dataset = meta["dataset"].as<std::string>();
      } catch (const YAML::Exception& e) {
        Warn("model '" + name + "': metadata '" + meta_path + "' is unreadable (" + e.what() +
             "); no models row");
        continue;
      }
      std::string ran_hash;
      try {
        ran_hash = TextField(ParseFlatJson(plan->spec_json), "model_hash");
      } catch (const Error&) {
      }
      try {
        if (!ran_hash.empty() && ModelFileHash(m.path) != ran_hash) {
          Warn("model '" + name + "': checkpoint '" + m.path + "' changed since its units ran");
        }
      } catch (const Error& e) {
        Warn("model '" + name + "': " + e.what());
      }
      index.RegisterModel(m);
      report_.models.push_back(name);
    }
  }

  void WriteUnits(ResultIndex& index) {
    std::map<int64_t, std::vector<UnitPlan>> plans_by_run;
    std::vector<std::pair<const Candidate*, size_t>> chosen;  // record, records of the unit
    for (auto& [id, list] : candidates_) {
      std::sort(list.begin(), list.end(), Preferred);
      const Candidate& best = list.front();
      plans_by_run[best.record.completion.run_id].push_back(best.record.plan);
      chosen.emplace_back(&best, list.size());
      report_.duplicates += list.size() - 1;
    }
    for (const auto& [run_id, plans] : plans_by_run) index.PlanUnits(run_id, plans);
    for (const auto& [best, attempts] : chosen) {
      const UnitCompletion& done = best->record.completion;
      for (size_t i = 0; i < attempts; ++i) {
        index.MarkRunning(done.unit_id, done.run_id, done.worker_rank, done.host, done.started_at);
      }
      index.CommitUnit(done);
      ++report_.units;
    }
  }

  const std::string run_dir_;
  const std::string target_;
  RebuildReport report_;
  std::map<int64_t, RunInfo> runs_;
  std::map<std::string, std::vector<Candidate>> candidates_;  // by unit id
};

}  // namespace

RebuildReport RebuildIndex(const std::string& run_dir, const std::string& out_path) {
  const std::string target = out_path.empty() ? IndexPath(run_dir) : out_path;
  return Rebuilder(run_dir, target).Run();
}

}  // namespace effrobust
