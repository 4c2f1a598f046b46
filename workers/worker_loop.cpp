#include "workers/worker_loop.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <limits>
#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "common/process_memory.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "orchestrator/experiment.h"
#include "results/unit_record.h"

namespace effrobust {

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();
// At most this often, a progress report from inside a batch runs a checkpoint.
constexpr double kProgressCheckpointSeconds = 0.1;

// The context of one unit: heartbeats to rank 0, drain detection. Messages
// other than Drain that arrive meanwhile are kept for the main loop.
class LeaseContext : public UnitContext {
 public:
  LeaseContext(Transport& t, const WorkUnit& unit, int64_t token, const RunOptions& options,
               std::deque<Message>* inbox)
      : t_(t), unit_(unit), token_(token), options_(options), inbox_(inbox) {
    last_beat_ = MonotonicSeconds();
  }

  void Checkpoint() override {
    const double now = MonotonicSeconds();
    if (now - last_beat_ >= options_.heartbeat_s) {
      t_.Send(0, HeartbeatMessage({unit_.id, token_}));
      last_beat_ = now;
    }
    int source = -1;
    Message m;
    while (t_.Receive(0.0, &source, &m)) {
      if (m.tag == kTagDrain) {
        StartDrain(now, "rank 0 asked to drain");
      } else {
        inbox_->push_back(std::move(m));
      }
    }
    if (StopSignal() != 0) StartDrain(now, std::string("got ") + StopSignalName(StopSignal()));
    if (now > abandon_at_) {
      throw UnitInterrupted("abandoned: the drain grace of " +
                            std::to_string(options_.drain_grace_s) + " s ran out");
    }
  }

 private:
  void StartDrain(double now, const std::string& why) {
    if (abandon_at_ != kNever) return;
    abandon_at_ = now + options_.drain_grace_s;
    LogInfo(why + "; finishing unit " + unit_.id + " if it takes less than " +
            std::to_string(options_.drain_grace_s) + " s");
  }

  Transport& t_;
  const WorkUnit& unit_;
  int64_t token_;
  const RunOptions& options_;
  std::deque<Message>* inbox_;
  double last_beat_ = 0;
  double abandon_at_ = kNever;
};

// EFFROBUST_TEST_FAULT="ATTACK@RANK": see worker_loop.h.
void MaybeInjectFault(const WorkUnit& unit, int rank) {
  const char* spec = std::getenv("EFFROBUST_TEST_FAULT");
  if (spec == nullptr || *spec == '\0') return;
  const std::string s = spec;
  const size_t at = s.find('@');
  const std::string attack = s.substr(0, at);
  const std::string where = at == std::string::npos ? "*" : s.substr(at + 1);
  if (attack == unit.attack && (where == "*" || where == std::to_string(rank))) {
    throw WorkerError("injected fault (EFFROBUST_TEST_FAULT=" + s + ") on rank " +
                      std::to_string(rank));
  }
}

}  // namespace

void RunWorker(Transport& t, UnitExecutor& executor, const WorkerIdentity& id,
               const ShardOpener& open_shard) {
  // One open shard per model and set of defenses: models of different
  // families write different columns, every defense adds its view's
  // columns, and a shard holds one schema.
  struct OpenShard {
    std::unique_ptr<ShardWriter> writer;
    std::string file;
  };
  std::map<std::string, OpenShard> shards;
  int next_part = 0;
  std::deque<Message> inbox;
  t.Send(0, ReadyMessage(executor.held_model()));
  while (true) {
    Message m;
    if (!inbox.empty()) {
      m = std::move(inbox.front());
      inbox.pop_front();
    } else {
      int source = -1;
      if (!t.Receive(3600.0, &source, &m)) continue;
    }
    if (m.tag == kTagDrain) continue;  // idle: nothing to abandon
    if (m.tag == kTagStop) {
      ShardClosed closed;
      closed.held_model = executor.held_model();
      for (auto& [schema, open] : shards) {
        if (!open.writer) continue;  // its creation failed
        open.writer->Close();
        closed.shard_files.push_back(open.file);
        closed.rows += open.writer->row_count();
        LogInfo("closed shard " + open.file + " (" + std::to_string(open.writer->row_count()) +
                " rows of model " + schema + ")");
      }
      t.Send(0, ShardClosedMessage(closed));
      return;
    }
    if (m.tag != kTagAssign) {
      throw OrchestratorError("worker got unexpected message tag " + std::to_string(m.tag));
    }
    WorkUnit unit;
    RunOptions options;
    int64_t token = 0;
    ParseAssign(m, &unit, &token, &options);
    UnitReport report;
    report.unit_id = unit.id;
    report.token = token;
    report.worker_rank = id.report_rank;
    report.host = id.host;
    report.started_at = WallSeconds();
    const double t0 = MonotonicSeconds();
    try {
      std::string schema = unit.model;
      for (size_t i = 0; i < unit.defenses.size(); ++i) {
        schema += (i ? "," : " with defenses ") + unit.defenses[i].name;
      }
      OpenShard& open = shards[schema];
      if (!open.writer) {
        if (open.file.empty()) open.file = ShardFileName(options.run_id, id.report_rank, next_part++);
        const std::string& shard_file = open.file;
        const SlurmProvenance slurm = SlurmFromEnvironment();
        ShardAttributes attrs = {{"run_id", std::to_string(options.run_id)},
                                 {"rank", std::to_string(id.report_rank)},
                                 {"host", id.host},
                                 {"created_at", IsoTime(WallSeconds())},
                                 {"experiment", options.experiment},
                                 {"config_hash", options.config_hash},
                                 {"git_commit", GitCommit()},
                                 {"slurm_job_id", slurm.job_id},
                                 {"slurm_restart_count", std::to_string(slurm.restart_count)}};
        open.writer = open_shard(options.run_dir + "/" + shard_file, attrs);
      }
      LogInfo("unit " + unit.id + ": " + unit.model + " " + unit.attack + " " +
              CanonicalJson(unit.params) + " samples [" + std::to_string(unit.begin) + ", " +
              std::to_string(unit.end) + ")");
      MaybeInjectFault(unit, id.report_rank);
      LeaseContext context(t, unit, token, options, &inbox);
      context.Checkpoint();  // a drain may already be under way
      // Attack loops report each iteration (common/progress.h): checkpoint from
      // there too, so one long batch does not outlast the lease timeout.
      double last_progress = MonotonicSeconds();
      ScopedProgressHook progress([&context, &last_progress] {
        const double now = MonotonicSeconds();
        if (now - last_progress < kProgressCheckpointSeconds) return;
        last_progress = now;
        context.Checkpoint();
      });
      ShardWriter& shard = *open.writer;
      UnitExecutor::Output out = executor.Execute(unit, options, shard, context);
      report.shard_file = open.file;
      report.row_begin = out.rows.begin;
      report.row_end = out.rows.end;
      report.metrics = std::move(out.metrics);
      report.device = out.device;
      report.device_name = out.device_name;
      report.finished_at = WallSeconds();
      report.wall_seconds = MonotonicSeconds() - t0;
      // The unit's completion record, after its rows: what `index rebuild` reads.
      shard.AppendUnitRecord(unit.id,
                              EncodeUnitRecord(unit.ToPlan(), CompletionOf(report, options.run_id)));
      const ProcessMemory memory = ReadProcessMemory();
      char line[160];
      std::snprintf(line, sizeof line, "unit %s done in %.2f s; worker RSS %.1f MiB, peak %.1f MiB",
                    unit.id.c_str(), report.wall_seconds, memory.rss_mib, memory.peak_mib);
      LogInfo(line);
    } catch (const UnitInterrupted& e) {
      report.outcome = UnitOutcome::kInterrupted;
      report.error = e.what();
      LogInfo("unit " + unit.id + " " + e.what());
    } catch (const std::exception& e) {
      report.outcome = UnitOutcome::kFailed;
      report.error = e.what();
    }
    if (report.outcome != UnitOutcome::kDone) {
      report.finished_at = WallSeconds();
      report.wall_seconds = MonotonicSeconds() - t0;
    }
    report.held_model = executor.held_model();
    t.Send(0, ResultMessage(report));
  }
}

}  // namespace effrobust
