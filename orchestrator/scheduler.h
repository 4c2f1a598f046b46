// The scheduler: a pure state machine over work units, driven by worker
// events (ready, completed, failed, interrupted, heartbeat, time) and
// answering with leases. No MPI, no I/O, no clock of its own: the
// coordinator feeds it messages and the time, tests feed it directly.
//
// Dynamic pull scheduling: a free worker gets the next pending unit,
// preferring units of the model it already holds, then units of a model no
// other worker holds, then any unit. A unit that failed on a worker is not
// given to it again while another live worker has not tried it (the worker
// waits instead); it is when no such worker is left. Every lease carries a token; a report is accepted only if it
// names the unit's current lease, so each unit is settled at most once and
// late reports after a lease was taken away are dropped.
//
// Failures are charged to a unit's retry budget (policy.max_retries retries
// per run); interruptions (drain, lost lease) are not. Not thread-safe; one
// owner (rank 0).
#ifndef EFFROBUST_ORCHESTRATOR_SCHEDULER_H_
#define EFFROBUST_ORCHESTRATOR_SCHEDULER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace effrobust {

struct SchedulableUnit {
  std::string id;
  std::string model;
};

struct SchedulerPolicy {
  int max_retries = 2;           // Default: 2 retries after the first failure
  double lease_timeout_s = 600;  // Default: 600 s without a heartbeat
};

struct Lease {
  size_t unit = 0;    // index into the unit list
  int64_t token = 0;  // unique per lease; echoed by the worker
};

class Scheduler {
 public:
  enum class State { kPending, kLeased, kDone, kFailed };

  // What became of a failure report.
  enum class FailOutcome {
    kRetry,   // unit is pending again (budget left)
    kFailed,  // budget used up: unit failed for this run
    kStale,   // report does not match the unit's lease: ignore it
  };

  Scheduler(std::vector<SchedulableUnit> units, SchedulerPolicy policy = {});

  // Worker `worker`, holding `held_model` ("" for none), asks for work at
  // time `now` (seconds, any monotonic clock). Returns the new lease, or
  // nullopt if nothing is pending for this worker (see above) or the
  // scheduler is draining; the worker should then wait unless Finished(). Any lease
  // the worker still held is given up first (returned to pending, not
  // charged). A worker that was marked lost is alive again.
  std::optional<Lease> Assign(int worker, const std::string& held_model, double now);

  // The worker finished the unit of lease `token`. Returns true if that is
  // the unit's current lease (the unit becomes done and must be committed);
  // false for an unknown, duplicate, late or foreign report (drop it).
  bool Complete(int worker, const std::string& unit_id, int64_t token);

  // The unit of lease `token` failed (an error inside the unit).
  FailOutcome Fail(int worker, const std::string& unit_id, int64_t token);

  // The unit of lease `token` was abandoned for a drain: pending again, not
  // charged. Returns false for a stale report.
  bool Interrupt(int worker, const std::string& unit_id, int64_t token);

  // The worker is alive at `now`; extends its lease.
  void Heartbeat(int worker, double now);

  // Leases whose worker has been silent for longer than the lease timeout
  // return to pending (not charged); their workers are marked lost until
  // they speak again. Returns the indices of the units re-queued.
  std::vector<size_t> ExpireLeases(double now);

  // The worker is gone: its lease (if any) returns to pending, not charged.
  void ReleaseWorker(int worker);

  // From now on Assign hands out nothing; leases still run to completion.
  void Drain() { draining_ = true; }
  bool draining() const { return draining_; }

  bool HasPending() const { return pending_ > 0; }
  // True when nothing is pending or leased.
  bool Finished() const { return pending_ == 0 && leased_ == 0; }
  bool IsLost(int worker) const { return lost_.count(worker) > 0; }
  // The worker holding a lease on unit `i`, if any.
  std::optional<int> Holder(size_t i) const;
  // Workers that hold a lease now.
  std::vector<int> BusyWorkers() const;

  size_t total() const { return units_.size(); }
  size_t pending() const { return pending_; }
  size_t leased() const { return leased_; }
  size_t done() const { return done_; }
  size_t failed() const { return failed_; }
  int failures(size_t i) const { return failures_[i]; }
  const SchedulableUnit& unit(size_t i) const { return units_[i]; }
  State state(size_t i) const { return states_[i]; }

 private:
  struct Held {
    size_t unit;
    int64_t token;
    double last_seen;
  };
  // The lease `worker` holds on `unit_id` with `token`, or nullptr.
  Held* Match(int worker, const std::string& unit_id, int64_t token);
  void ToPending(int worker);

  SchedulerPolicy policy_;
  std::vector<SchedulableUnit> units_;
  std::vector<State> states_;
  std::vector<int> failures_;
  std::vector<std::set<int>> failed_on_;
  std::map<std::string, size_t> index_;
  std::map<int, Held> lease_;                // worker -> its lease
  std::map<int, std::string> worker_model_;  // worker -> model it holds
  std::set<int> lost_;
  std::set<int> known_;  // workers that have asked for work
  int64_t next_token_ = 1;
  bool draining_ = false;
  size_t pending_ = 0, leased_ = 0, done_ = 0, failed_ = 0;
};

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_SCHEDULER_H_
