#include "workers/worker_loop.h"

#include <unistd.h>

#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "orchestrator/experiment.h"
#include "results/unit_record.h"

namespace effrobust {

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

void RunWorker(Transport& t, UnitExecutor& executor, const WorkerIdentity& id) {
  std::unique_ptr<ShardWriter> shard;
  std::string shard_file;
  t.Send(0, ReadyMessage(executor.held_model()));
  while (true) {
    int source = -1;
    Message m;
    if (!t.Receive(3600.0, &source, &m)) continue;
    if (m.tag == kTagStop) {
      ShardClosed closed;
      closed.held_model = executor.held_model();
      if (shard) {
        shard->Close();
        closed.shard_file = shard_file;
        closed.rows = shard->row_count();
        LogInfo("closed shard " + shard_file + " (" + std::to_string(closed.rows) + " rows)");
      }
      t.Send(0, ShardClosedMessage(closed));
      return;
    }
    if (m.tag != kTagAssign) {
      throw OrchestratorError("worker got unexpected message tag " + std::to_string(m.tag));
    }
    WorkUnit unit;
    RunOptions options;
    ParseAssign(m, &unit, &options);
    UnitReport report;
    report.unit_id = unit.id;
    report.worker_rank = id.report_rank;
    report.host = id.host;
    report.started_at = WallSeconds();
    const double t0 = MonotonicSeconds();
    try {
      if (!shard) {
        shard_file = ShardFileName(options.run_id, id.report_rank);
        const SlurmProvenance slurm = SlurmFromEnvironment();
        ShardAttributes attrs = {{"run_id", std::to_string(options.run_id)},
                                 {"rank", std::to_string(id.report_rank)},
                                 {"host", id.host},
                                 {"created_at", IsoTime(WallSeconds())},
                                 {"git_commit", GitCommit()},
                                 {"slurm_job_id", slurm.job_id},
                                 {"slurm_restart_count", std::to_string(slurm.restart_count)}};
        shard = CreateHdf5Shard(options.run_dir + "/" + shard_file, attrs);
      }
      LogInfo("unit " + unit.id + ": " + unit.model + " " + unit.attack + " " +
              CanonicalJson(unit.params) + " samples [" + std::to_string(unit.begin) + ", " +
              std::to_string(unit.end) + ")");
      UnitExecutor::Output out = executor.Execute(unit, options, *shard);
      report.shard_file = shard_file;
      report.row_begin = out.rows.begin;
      report.row_end = out.rows.end;
      report.metrics = std::move(out.metrics);
      report.finished_at = WallSeconds();
      report.wall_seconds = MonotonicSeconds() - t0;
      // The unit's completion record, after its rows: what `index rebuild` reads.
      UnitCompletion done;
      done.unit_id = report.unit_id;
      done.run_id = options.run_id;
      done.worker_rank = report.worker_rank;
      done.host = report.host;
      done.started_at = report.started_at;
      done.finished_at = report.finished_at;
      done.wall_seconds = report.wall_seconds;
      done.shard_file = report.shard_file;
      done.row_begin = report.row_begin;
      done.row_end = report.row_end;
      done.metrics = report.metrics;
      shard->AppendUnitRecord(unit.id, EncodeUnitRecord(unit.ToPlan(), done));
    } catch (const std::exception& e) {
      report.ok = false;
      report.error = e.what();
      report.finished_at = WallSeconds();
      report.wall_seconds = MonotonicSeconds() - t0;
    }
    report.held_model = executor.held_model();
    t.Send(0, ResultMessage(report));
  }
}

}  // namespace effrobust
