#include "orchestrator/coordinator.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "common/stop_signal.h"

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

namespace {

// The state of one Coordinate call.
class CoordinatorLoop {
 public:
  CoordinatorLoop(Transport& t, ResultIndex& index, const std::vector<WorkUnit>& units,
                  const RunOptions& options, const CoordinatorOptions& co)
      : t_(t), index_(index), units_(units), options_(options), co_(co),
        scheduler_(Schedulable(units), co.policy) {
    for (int w = 1; w < t.size(); ++w) open_.insert(w);
    if (!co_.stop_requested) co_.stop_requested = [] { return StopSignal(); };
  }

  CoordinatorResult Run() {
    start_ = MonotonicSeconds();
    last_progress_ = start_;
    while (!open_.empty()) {
      const double now = MonotonicSeconds();
      if (!scheduler_.draining()) {
        if (int sig = co_.stop_requested()) BeginDrain(sig, now);
      }
      ExpireLeases(now);
      DispatchParked(now);
      if (ShouldGiveUp(now)) break;
      int source = -1;
      Message m;
      if (!t_.Receive(0.5, &source, &m)) {
        if (MonotonicSeconds() - last_progress_ >= co_.progress_s) Progress();
        continue;
      }
      Handle(source, m);
    }
    result_.seconds = MonotonicSeconds() - start_;
    result_.done = scheduler_.done();
    result_.failed = scheduler_.failed();
    result_.left = scheduler_.total() - scheduler_.done() - scheduler_.failed();
    result_.drained = scheduler_.draining();
    result_.unresponsive.assign(open_.begin(), open_.end());
    return result_;
  }

 private:
  static std::vector<SchedulableUnit> Schedulable(const std::vector<WorkUnit>& units) {
    std::vector<SchedulableUnit> out;
    for (const auto& u : units) out.push_back({u.id, u.model});
    return out;
  }

  void Handle(int source, const Message& m) {
    switch (m.tag) {
      case kTagReady:
        Idle(source, ParseReady(m));
        break;
      case kTagHeartbeat:
        scheduler_.Heartbeat(source, MonotonicSeconds());
        break;
      case kTagResult: {
        UnitReport r = ParseResult(m);
        Settle(source, r);
        Progress();
        Idle(source, r.held_model);
        break;
      }
      case kTagShardClosed: {
        ShardClosed c = ParseShardClosed(m);
        for (const auto& f : c.shard_files) result_.shards.push_back(f);
        open_.erase(source);
        parked_.erase(source);
        break;
      }
      default:
        throw OrchestratorError("unexpected message tag " + std::to_string(m.tag) +
                                " from rank " + std::to_string(source));
    }
  }

  void Settle(int source, const UnitReport& r) {
    const std::string from = " from rank " + std::to_string(source);
    switch (r.outcome) {
      case UnitOutcome::kDone: {
        if (!scheduler_.Complete(source, r.unit_id, r.token)) {
          ++result_.duplicates;
          LogWarn("dropped a late or duplicate result for unit " + r.unit_id + from +
                  " (its lease was taken away or it was already committed)");
          return;
        }
        index_.CommitUnit(CompletionOf(r, options_.run_id));
        return;
      }
      case UnitOutcome::kFailed: {
        const Scheduler::FailOutcome o = scheduler_.Fail(source, r.unit_id, r.token);
        if (o == Scheduler::FailOutcome::kStale) {
          ++result_.duplicates;
          LogWarn("dropped a late failure report for unit " + r.unit_id + from);
          return;
        }
        const bool retry = o == Scheduler::FailOutcome::kRetry;
        index_.RecordFailure(r.unit_id, r.error, retry);
        if (retry) ++result_.retried;
        LogWarn("unit " + r.unit_id + " failed on rank " + std::to_string(r.worker_rank) + ": " +
                r.error + (retry ? " (will retry)" : " (no retries left)"));
        return;
      }
      case UnitOutcome::kInterrupted:
        if (scheduler_.Interrupt(source, r.unit_id, r.token)) {
          index_.RecordInterruption(r.unit_id);
          ++result_.interrupted;
          LogInfo("unit " + r.unit_id + " interrupted on rank " + std::to_string(source) +
                  "; it stays pending");
        }
        return;
    }
  }

  // Worker `w` has nothing to do: lease it a unit, park it while others
  // may still hand units back, or stop it.
  void Idle(int w, const std::string& held_model) {
    if (scheduler_.draining()) {
      Stop(w);
      return;
    }
    const double now = MonotonicSeconds();
    if (std::optional<Lease> lease = scheduler_.Assign(w, held_model, now)) {
      parked_.erase(w);
      const WorkUnit& u = units_[lease->unit];
      index_.MarkRunning(u.id, options_.run_id, w, "", WallSeconds());
      t_.Send(w, AssignMessage(u, lease->token, options_));
      return;
    }
    if (scheduler_.Finished()) {
      Stop(w);
    } else {
      held_models_[w] = held_model;
      parked_.insert(w);
    }
  }

  void Stop(int w) {
    parked_.erase(w);
    if (stopped_.insert(w).second) t_.Send(w, StopMessage());
  }

  void DispatchParked(double now) {
    (void)now;
    if (parked_.empty()) return;
    if (scheduler_.draining() || scheduler_.Finished()) {
      for (int w : std::set<int>(parked_)) Stop(w);
      return;
    }
    for (int w : std::set<int>(parked_)) {
      if (!scheduler_.HasPending()) break;
      Idle(w, held_models_[w]);
    }
  }

  void ExpireLeases(double now) {
    for (size_t i : scheduler_.ExpireLeases(now)) {
      index_.RecordInterruption(units_[i].id);
      ++result_.interrupted;
      LogWarn("a worker was silent for more than " + std::to_string(co_.policy.lease_timeout_s) +
              " s; its unit " + units_[i].id + " goes back to the queue");
    }
  }

  void BeginDrain(int sig, double now) {
    scheduler_.Drain();
    result_.drain_signal = sig;
    drain_deadline_ = now + co_.drain_grace_s + kDrainSlack;
    const std::vector<int> busy = scheduler_.BusyWorkers();
    LogWarn(std::string("got ") + StopSignalName(sig) + ": draining — no new units; " +
            std::to_string(busy.size()) + " busy worker(s) get " +
            std::to_string(static_cast<int>(co_.drain_grace_s)) + " s to finish");
    for (int w : busy) t_.Send(w, DrainMessage());
    for (int w : std::set<int>(parked_)) Stop(w);
  }

  // True when waiting longer is pointless: the drain deadline passed, or
  // the work is finished and only silent workers remain open.
  bool ShouldGiveUp(double now) {
    if (scheduler_.draining() && now > drain_deadline_) {
      for (int w : scheduler_.BusyWorkers()) {
        const auto held = Holding(w);
        scheduler_.ReleaseWorker(w);
        if (held) index_.RecordInterruption(*held);
        ++result_.interrupted;
      }
      if (!open_.empty()) {
        LogWarn("drain deadline passed with " + std::to_string(open_.size()) +
                " worker(s) still busy; their units stay pending");
      }
      return true;
    }
    if (!scheduler_.Finished()) return false;
    for (int w : open_) {
      if (!scheduler_.IsLost(w)) return false;
      Stop(w);
    }
    if (all_lost_since_ < 0) all_lost_since_ = now;
    if (now - all_lost_since_ > co_.policy.lease_timeout_s) {
      LogWarn(std::to_string(open_.size()) + " silent worker(s) never came back");
      return true;
    }
    return false;
  }

  std::optional<std::string> Holding(int w) const {
    for (size_t i = 0; i < units_.size(); ++i) {
      if (scheduler_.Holder(i) == w) return units_[i].id;
    }
    return std::nullopt;
  }

  void Progress() {
    if (co_.quiet) return;
    LogInfo("[progress] " + ProgressLine(scheduler_.done() + scheduler_.failed(),
                                         scheduler_.failed(), scheduler_.total(),
                                         MonotonicSeconds() - start_));
    last_progress_ = MonotonicSeconds();
  }

  static constexpr double kDrainSlack = 5;  // seconds for reports in flight

  Transport& t_;
  ResultIndex& index_;
  const std::vector<WorkUnit>& units_;
  const RunOptions& options_;
  CoordinatorOptions co_;
  Scheduler scheduler_;
  CoordinatorResult result_;
  std::set<int> open_;     // workers that have not closed their shard
  std::set<int> parked_;   // idle workers waiting for a unit to come back
  std::set<int> stopped_;  // workers sent Stop
  std::map<int, std::string> held_models_;
  double start_ = 0, last_progress_ = 0;
  double drain_deadline_ = 0;
  double all_lost_since_ = -1;
};

}  // namespace

CoordinatorResult Coordinate(Transport& t, ResultIndex& index, const std::vector<WorkUnit>& units,
                             const RunOptions& options, const CoordinatorOptions& co) {
  if (t.size() < 2) throw OrchestratorError("the coordinator needs at least one worker rank");
  return CoordinatorLoop(t, index, units, options, co).Run();
}

}  // namespace effrobust
