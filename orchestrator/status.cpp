#include "orchestrator/status.h"

#include <cstdio>
#include <algorithm>
#include <map>
#include <vector>

#include "common/log.h"
#include "orchestrator/experiment.h"
#include "results/index.h"

namespace effrobust {

std::string RenderStatus(const std::string& run_dir) {
  auto index = OpenSqliteIndexReadOnly(IndexPath(run_dir));
  auto units = index->Units();
  auto runs = index->Runs();
  std::map<std::string, size_t> counts;
  for (const auto& u : units) counts[u.status]++;
  std::string out = "run directory: " + run_dir + "\n";
  out += "units: " + std::to_string(units.size()) + " total";
  for (const char* s : {"done", "running", "pending", "failed"}) {
    out += ", " + std::to_string(counts[s]) + " " + s;
  }
  out += "\n";
  std::vector<const UnitRecord*> failed;
  for (const auto& u : units) {
    if (u.status == "failed") failed.push_back(&u);
  }
  if (!failed.empty()) {
    out += "failed units (run the same command again to retry them):\n";
    const size_t shown = std::min<size_t>(failed.size(), 20);
    for (size_t i = 0; i < shown; ++i) {
      const UnitRecord& u = *failed[i];
      std::string error = u.error.substr(0, u.error.find('\n'));
      if (error.size() > 160) error = error.substr(0, 157) + "...";
      out += "  " + u.plan.unit_id + "  " + u.plan.model + " " + u.plan.attack + " " +
             u.plan.params_json + " [" + std::to_string(u.plan.sample_begin) + ", " +
             std::to_string(u.plan.sample_end) + ") after " + std::to_string(u.failures) +
             " failure(s): " + error + "\n";
    }
    if (failed.size() > shown) {
      out += "  ... and " + std::to_string(failed.size() - shown) +
             " more (effrobust query RUN_DIR \"SELECT unit_id, error FROM units WHERE status = "
             "'failed'\")\n";
    }
  }
  if (!runs.empty()) {
    const RunRecord& r = runs.back();
    const bool live = r.status == "running";
    const double end = live ? WallSeconds() : r.ended_at;
    size_t done_in_run = 0;
    double samples = 0;
    for (const auto& u : units) {
      if (u.status == "done" && u.run_id == r.run_id) {
        ++done_in_run;
        samples += static_cast<double>(u.plan.sample_end - u.plan.sample_begin);
      }
    }
    const double elapsed = end - r.started_at;
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "latest run: #%lld '%s' %s, started %s, %d rank(s), git %s, torch %s\n",
                  static_cast<long long>(r.run_id), r.name.c_str(), r.status.c_str(),
                  IsoTime(r.started_at).c_str(), r.ranks, r.git_commit.c_str(),
                  r.torch_version.c_str());
    out += buf;
    if (!r.slurm_job_id.empty()) {
      out += "slurm job " + r.slurm_job_id + ", restart count " +
             std::to_string(r.slurm_restart_count) + "\n";
    }
    const size_t left = counts["pending"] + counts["running"];
    std::snprintf(buf, sizeof(buf), "this run: %zu units in %.0f s, %.1f samples/s\n", done_in_run,
                  elapsed, elapsed > 0 ? samples / elapsed : 0.0);
    out += buf;
    if (live) {
      if (done_in_run > 0 && elapsed > 0) {
        std::snprintf(buf, sizeof(buf), "ETA: %.0f s for %zu remaining units\n",
                      left * elapsed / done_in_run, left);
        out += buf;
      }
    }
  }
  return out;
}

}  // namespace effrobust
