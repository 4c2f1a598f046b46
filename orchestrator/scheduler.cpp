#include "orchestrator/scheduler.h"

namespace effrobust {

Scheduler::Scheduler(std::vector<SchedulableUnit> units, SchedulerPolicy policy)
    : policy_(policy),
      units_(std::move(units)),
      states_(units_.size(), State::kPending),
      failures_(units_.size(), 0),
      failed_on_(units_.size()) {
  for (size_t i = 0; i < units_.size(); ++i) index_[units_[i].id] = i;
  pending_ = units_.size();
}

std::optional<Lease> Scheduler::Assign(int worker, const std::string& held_model, double now) {
  ToPending(worker);
  lost_.erase(worker);
  known_.insert(worker);
  if (!held_model.empty()) worker_model_[worker] = held_model;
  if (pending_ == 0 || draining_) return std::nullopt;
  std::set<std::string> held_elsewhere;
  for (const auto& [w, m] : worker_model_) {
    if (w != worker) held_elsewhere.insert(m);
  }
  // Candidates by preference; a unit that failed on this worker ranks last.
  std::optional<size_t> same_model, unheld_model, any, failed_here;
  for (size_t i = 0; i < units_.size(); ++i) {
    if (states_[i] != State::kPending) continue;
    if (failed_on_[i].count(worker)) {
      bool someone_else = false;
      for (int w : known_) {
        someone_else = someone_else || (w != worker && !lost_.count(w) && !failed_on_[i].count(w));
      }
      if (!someone_else && !failed_here) failed_here = i;
      continue;
    }
    if (!any) any = i;
    if (!held_model.empty() && units_[i].model == held_model) {
      same_model = i;
      break;
    }
    if (!unheld_model && !held_elsewhere.count(units_[i].model)) unheld_model = i;
  }
  if (!any && !failed_here) return std::nullopt;  // wait for another worker
  const size_t pick = same_model ? *same_model
                      : unheld_model ? *unheld_model
                      : any          ? *any
                                     : *failed_here;
  states_[pick] = State::kLeased;
  --pending_;
  ++leased_;
  const int64_t token = next_token_++;
  lease_[worker] = Held{pick, token, now};
  worker_model_[worker] = units_[pick].model;
  return Lease{pick, token};
}

Scheduler::Held* Scheduler::Match(int worker, const std::string& unit_id, int64_t token) {
  auto it = lease_.find(worker);
  if (it == lease_.end() || it->second.token != token || units_[it->second.unit].id != unit_id) {
    return nullptr;
  }
  return &it->second;
}

bool Scheduler::Complete(int worker, const std::string& unit_id, int64_t token) {
  Held* h = Match(worker, unit_id, token);
  if (!h) return false;
  states_[h->unit] = State::kDone;
  lease_.erase(worker);
  --leased_;
  ++done_;
  return true;
}

Scheduler::FailOutcome Scheduler::Fail(int worker, const std::string& unit_id, int64_t token) {
  Held* h = Match(worker, unit_id, token);
  if (!h) return FailOutcome::kStale;
  const size_t i = h->unit;
  lease_.erase(worker);
  --leased_;
  ++failures_[i];
  failed_on_[i].insert(worker);
  if (failures_[i] > policy_.max_retries) {
    states_[i] = State::kFailed;
    ++failed_;
    return FailOutcome::kFailed;
  }
  states_[i] = State::kPending;
  ++pending_;
  return FailOutcome::kRetry;
}

bool Scheduler::Interrupt(int worker, const std::string& unit_id, int64_t token) {
  if (!Match(worker, unit_id, token)) return false;
  ToPending(worker);
  return true;
}

void Scheduler::Heartbeat(int worker, double now) {
  lost_.erase(worker);
  auto it = lease_.find(worker);
  if (it != lease_.end()) it->second.last_seen = now;
}

std::vector<size_t> Scheduler::ExpireLeases(double now) {
  std::vector<int> expired;
  for (const auto& [w, h] : lease_) {
    if (now - h.last_seen > policy_.lease_timeout_s) expired.push_back(w);
  }
  std::vector<size_t> requeued;
  for (int w : expired) {
    requeued.push_back(lease_.at(w).unit);
    ToPending(w);
    lost_.insert(w);
    worker_model_.erase(w);
  }
  return requeued;
}

void Scheduler::ReleaseWorker(int worker) {
  ToPending(worker);
  worker_model_.erase(worker);
  known_.erase(worker);
}

void Scheduler::ToPending(int worker) {
  auto it = lease_.find(worker);
  if (it == lease_.end()) return;
  states_[it->second.unit] = State::kPending;
  ++pending_;
  --leased_;
  lease_.erase(it);
}

std::optional<int> Scheduler::Holder(size_t i) const {
  for (const auto& [w, h] : lease_) {
    if (h.unit == i) return w;
  }
  return std::nullopt;
}

std::vector<int> Scheduler::BusyWorkers() const {
  std::vector<int> out;
  for (const auto& [w, h] : lease_) out.push_back(w);
  return out;
}

}  // namespace effrobust
