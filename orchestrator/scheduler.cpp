#include "orchestrator/scheduler.h"

#include <set>

namespace effrobust {

Scheduler::Scheduler(std::vector<SchedulableUnit> units)
    : units_(std::move(units)), states_(units_.size(), State::kPending) {
  for (size_t i = 0; i < units_.size(); ++i) index_[units_[i].id] = i;
  pending_ = units_.size();
}

std::optional<size_t> Scheduler::Assign(int worker, const std::string& held_model) {
  if (!held_model.empty()) worker_model_[worker] = held_model;
  if (pending_ == 0) return std::nullopt;
  std::set<std::string> held_elsewhere;
  for (const auto& [w, m] : worker_model_) {
    if (w != worker) held_elsewhere.insert(m);
  }
  std::optional<size_t> same_model, unheld_model, any;
  for (size_t i = 0; i < units_.size(); ++i) {
    if (states_[i] != State::kPending) continue;
    if (!any) any = i;
    if (!held_model.empty() && units_[i].model == held_model) {
      same_model = i;
      break;
    }
    if (!unheld_model && !held_elsewhere.count(units_[i].model)) unheld_model = i;
  }
  const size_t pick = same_model ? *same_model : unheld_model ? *unheld_model : *any;
  states_[pick] = State::kLeased;
  --pending_;
  ++leased_;
  lease_[worker] = pick;
  worker_model_[worker] = units_[pick].model;
  return pick;
}

bool Scheduler::Settle(int worker, const std::string& unit_id, State to) {
  auto it = lease_.find(worker);
  if (it == lease_.end() || units_[it->second].id != unit_id) return false;
  states_[it->second] = to;
  lease_.erase(it);
  --leased_;
  (to == State::kDone ? done_ : failed_)++;
  return true;
}

bool Scheduler::Complete(int worker, const std::string& unit_id) {
  return Settle(worker, unit_id, State::kDone);
}

bool Scheduler::Fail(int worker, const std::string& unit_id) {
  return Settle(worker, unit_id, State::kFailed);
}

void Scheduler::ReleaseWorker(int worker) {
  auto it = lease_.find(worker);
  if (it != lease_.end()) {
    states_[it->second] = State::kPending;
    ++pending_;
    --leased_;
    lease_.erase(it);
  }
  worker_model_.erase(worker);
}

}  // namespace effrobust
