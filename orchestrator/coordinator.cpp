#include "orchestrator/coordinator.h"

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "common/log.h"
#include "orchestrator/scheduler.h"

namespace effrobust {

std::string ProgressLine(size_t finished, size_t failed, size_t total, double elapsed_s) {
  char buf[200];
  const double rate = elapsed_s > 0 ? finished / elapsed_s : 0;
  std::string eta = "?";
  if (rate > 0) {
    const double left = (total - finished) / rate;
    char e[32];
    if (left >= 3600) {
      std::snprintf(e, sizeof(e), "%.1fh", left / 3600);
    } else if (left >= 60) {
      std::snprintf(e, sizeof(e), "%dm%02ds", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
    } else {
      std::snprintf(e, sizeof(e), "%.0fs", left);
    }
    eta = e;
  }
  std::snprintf(buf, sizeof(buf), "%zu/%zu units (%zu failed) | %.3g units/min | ETA %s", finished,
                total, failed, rate * 60, eta.c_str());
  return buf;
}

void StopWorkers(Transport& t, double timeout_s) {
  for (int w = 1; w < t.size(); ++w) t.Send(w, StopMessage());
  int open_workers = t.size() - 1;
  const double deadline = MonotonicSeconds() + timeout_s;
  while (open_workers > 0 && MonotonicSeconds() < deadline) {
    int source = -1;
    Message m;
    if (t.Receive(1.0, &source, &m) && m.tag == kTagShardClosed) --open_workers;
  }
}

CoordinatorResult Coordinate(Transport& t, ResultIndex& index, const std::vector<WorkUnit>& units,
                             const RunOptions& options, const CoordinatorOptions& co) {
  if (t.size() < 2) throw OrchestratorError("the coordinator needs at least one worker rank");
  std::vector<SchedulableUnit> sched_units;
  for (const auto& u : units) sched_units.push_back({u.id, u.model});
  Scheduler scheduler(std::move(sched_units));
  CoordinatorResult result;
  const double start = MonotonicSeconds();
  double last_progress = start;
  int open_workers = t.size() - 1;

  auto assign = [&](int worker, const std::string& held_model) {
    std::optional<size_t> pick = scheduler.Assign(worker, held_model);
    if (!pick) {
      t.Send(worker, StopMessage());
      return;
    }
    const WorkUnit& u = units[*pick];
    index.MarkRunning(u.id, options.run_id, worker, "", WallSeconds());
    t.Send(worker, AssignMessage(u, options));
  };
  auto progress = [&]() {
    if (co.quiet) return;
    LogInfo("[progress] " + ProgressLine(scheduler.done() + scheduler.failed(), scheduler.failed(),
                                         scheduler.total(), MonotonicSeconds() - start));
    last_progress = MonotonicSeconds();
  };

  while (open_workers > 0) {
    int source = -1;
    Message m;
    if (!t.Receive(1.0, &source, &m)) {
      if (MonotonicSeconds() - last_progress >= co.heartbeat_s) progress();
      continue;
    }
    switch (m.tag) {
      case kTagReady:
        assign(source, ParseReady(m));
        break;
      case kTagResult: {
        UnitReport r = ParseResult(m);
        if (r.ok) {
          if (scheduler.Complete(source, r.unit_id)) {
            UnitCompletion c;
            c.unit_id = r.unit_id;
            c.run_id = options.run_id;
            c.worker_rank = r.worker_rank;
            c.host = r.host;
            c.started_at = r.started_at;
            c.finished_at = r.finished_at;
            c.wall_seconds = r.wall_seconds;
            c.shard_file = r.shard_file;
            c.row_begin = r.row_begin;
            c.row_end = r.row_end;
            c.metrics = r.metrics;
            index.CommitUnit(c);
            ++result.done;
          } else {
            ++result.duplicates;
            LogWarn("dropped a duplicate or unexpected result for unit " + r.unit_id +
                    " from rank " + std::to_string(source));
          }
        } else {
          if (scheduler.Fail(source, r.unit_id)) {
            index.MarkFailed(r.unit_id, r.error);
            ++result.failed;
          }
          LogWarn("unit " + r.unit_id + " failed on rank " + std::to_string(r.worker_rank) + ": " +
                  r.error);
        }
        progress();
        assign(source, r.held_model);
        break;
      }
      case kTagShardClosed: {
        ShardClosed c = ParseShardClosed(m);
        if (!c.shard_file.empty()) result.shards.push_back(c.shard_file);
        --open_workers;
        break;
      }
      default:
        throw OrchestratorError("unexpected message tag " + std::to_string(m.tag) + " from rank " +
                                std::to_string(source));
    }
  }
  result.seconds = MonotonicSeconds() - start;
  return result;
}

}  // namespace effrobust
