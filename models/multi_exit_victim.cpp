#include "models/multi_exit_victim.h"

#include <algorithm>

#include "common/error.h"
#include "evaluation/early_exit.h"

namespace effrobust {

MultiExitVictim::MultiExitVictim(MultiExitCnn model, std::map<std::string, double> thresholds)
    : model_(std::move(model)), thresholds_(std::move(thresholds)) {}

std::vector<torch::Tensor> MultiExitVictim::InternalExitLogits(const torch::Tensor& x) {
  const size_t k = model_->config().channels.size();
  return model_->ForwardExits(x, k - 1);
}

VictimOutputs MultiExitVictim::Forward(const torch::Tensor& x, bool keep_activations) {
  VictimOutputs out;
  out.exit_logits =
      model_->ForwardAll(x, nullptr, keep_activations ? &out.activations : nullptr);
  out.logits = out.exit_logits.back();
  return out;
}

std::vector<std::string> MultiExitVictim::OperatingPoints() const {
  std::vector<std::string> points;
  for (const auto& [point, q] : thresholds_) points.push_back(point);
  return points;
}

double MultiExitVictim::Threshold(const std::string& point) const {
  auto it = thresholds_.find(point);
  if (it == thresholds_.end()) {
    std::string known;
    for (const auto& [p, q] : thresholds_) known += (known.empty() ? "" : ", ") + p;
    throw ModelError("early-exit model has no operating point '" + point + "' (has: " +
                     (known.empty() ? std::string("none") : known) + ")");
  }
  return it->second;
}

DynamicResult EarlyExitDecisions(const std::vector<torch::Tensor>& exit_logits, double q,
                                 int64_t exit_cap, const CostLedger& ledger) {
  const int k = static_cast<int>(exit_logits.size());
  std::vector<torch::Tensor> confs, preds;
  for (auto& l : exit_logits) {
    auto [mx, arg] = torch::softmax(l.detach().to(torch::kFloat64), 1).max(1);
    confs.push_back(mx);
    preds.push_back(arg);
  }
  torch::Tensor conf = torch::stack(confs, 1).cpu().contiguous();
  torch::Tensor pred = torch::stack(preds, 1).cpu().contiguous();
  auto c = conf.accessor<double, 2>();
  auto p = pred.accessor<int64_t, 2>();
  const int64_t n = conf.size(0);
  DynamicResult r;
  std::vector<int64_t> exits(n);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> v(k);
    for (int j = 0; j < k; ++j) v[j] = c[i][j];
    exits[i] = ExitIndex(v, q);
    if (exit_cap > 0) exits[i] = std::min<int64_t>(exits[i], exit_cap - 1);
    r.pred.push_back(p[i][exits[i]]);
    r.metric.push_back(static_cast<double>(exits[i]));
  }
  r.cost = ledger.Totals(exits);
  return r;
}

DynamicResult MultiExitVictim::Measure(const torch::Tensor& x, const std::string& point) {
  const double q = Threshold(point);
  const int64_t n = x.size(0);
  CostLedger ledger(n);
  auto logits = model_->ForwardAll(x, &ledger, nullptr);
  return EarlyExitDecisions(logits, q, exit_cap_, ledger);
}

void MultiExitVictim::InferOne(const torch::Tensor& x, const std::string& point) {
  model_->ForwardEarlyExit(x, Threshold(point), static_cast<int>(exit_cap_));
}

void MultiExitVictim::SetExitCap(int64_t k) {
  if (k < 0) throw ModelError("exit cap must be >= 0 (0: no cap), got " + std::to_string(k));
  exit_cap_ = k;
}

}  // namespace effrobust
