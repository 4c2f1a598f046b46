// The scheduler: a pure state machine over work units, driven by worker
// events (ready, completed, failed) and answering with assignments. No MPI,
// no I/O: the coordinator feeds it messages, tests feed it directly.
// Dynamic pull scheduling: a free worker gets the next pending unit,
// preferring units of the model it already holds, then units of a model no
// other worker holds, then any unit. Not thread-safe; one owner (rank 0).
#ifndef EFFROBUST_ORCHESTRATOR_SCHEDULER_H_
#define EFFROBUST_ORCHESTRATOR_SCHEDULER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace effrobust {

struct SchedulableUnit {
  std::string id;
  std::string model;
};

class Scheduler {
 public:
  enum class State { kPending, kLeased, kDone, kFailed };

  explicit Scheduler(std::vector<SchedulableUnit> units);

  // Worker `worker`, holding `held_model` ("" for none), asks for work.
  // Returns the index of the unit now leased to it, or nullopt if nothing is
  // pending. REQUIRES: the worker holds no lease.
  std::optional<size_t> Assign(int worker, const std::string& held_model);

  // The worker finished `unit_id`. Returns true if the unit was leased to
  // this worker (it becomes done); false for an unknown, duplicate or
  // foreign report, which must then not be committed.
  bool Complete(int worker, const std::string& unit_id);

  // The worker failed `unit_id`; it becomes failed (not retried this run).
  // Returns false like Complete for reports that do not match a lease.
  bool Fail(int worker, const std::string& unit_id);

  // The worker is gone: its lease (if any) returns to pending.
  void ReleaseWorker(int worker);

  bool HasPending() const { return pending_ > 0; }
  // True when nothing is pending or leased.
  bool Finished() const { return pending_ == 0 && leased_ == 0; }

  size_t total() const { return units_.size(); }
  size_t pending() const { return pending_; }
  size_t leased() const { return leased_; }
  size_t done() const { return done_; }
  size_t failed() const { return failed_; }
  const SchedulableUnit& unit(size_t i) const { return units_[i]; }
  State state(size_t i) const { return states_[i]; }

 private:
  bool Settle(int worker, const std::string& unit_id, State to);

  std::vector<SchedulableUnit> units_;
  std::vector<State> states_;
  std::map<std::string, size_t> index_;
  std::map<int, size_t> lease_;             // worker -> unit index
  std::map<int, std::string> worker_model_;  // worker -> model it holds
  size_t pending_ = 0, leased_ = 0, done_ = 0, failed_ = 0;
};

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_SCHEDULER_H_
