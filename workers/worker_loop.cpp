#include "workers/worker_loop.h"

#include <unistd.h>

#include <memory>

#include "common/error.h"
#include "common/log.h"

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
        ShardAttributes attrs = {{"run_id", std::to_string(options.run_id)},
                                 {"rank", std::to_string(id.report_rank)},
                                 {"host", id.host},
                                 {"created_at", IsoTime(WallSeconds())}};
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
    } catch (const std::exception& e) {
      report.ok = false;
      report.error = e.what();
    }
    report.finished_at = WallSeconds();
    report.wall_seconds = MonotonicSeconds() - t0;
    report.held_model = executor.held_model();
    t.Send(0, ResultMessage(report));
  }
}

}  // namespace effrobust
