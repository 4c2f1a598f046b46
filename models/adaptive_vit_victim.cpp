#include "models/adaptive_vit_victim.h"

#include "common/error.h"

namespace effrobust {

namespace {

void CheckPoint(const std::string& point) {
  if (!point.empty()) {
    throw ModelError("adaptive_vit model has no operating point '" + point + "' (has only '')");
  }
}

}  // namespace

VictimOutputs AdaptiveVitVictim::Forward(const torch::Tensor& x, bool keep_activations) {
  VictimOutputs out;
  AdaptiveVitOutput r = model_->Run(x, nullptr, keep_activations ? &out.activations : nullptr);
  out.logits = r.logits;
  out.ponder = r.ponder;
  out.halting = r.halting;
  return out;
}

DynamicResult AdaptiveVitVictim::Measure(const torch::Tensor& x, const std::string& point) {
  CheckPoint(point);
  const int64_t n = x.size(0);
  CostLedger ledger(n);
  AdaptiveVitOutput r = model_->Run(x, &ledger, nullptr);
  const double all = static_cast<double>(model_->config().tokens() * model_->config().depth);
  torch::Tensor depth = (r.active.sum(1).to(torch::kFloat64) / all).cpu().contiguous();
  torch::Tensor pred = r.logits.argmax(1).cpu().contiguous();
  DynamicResult result;
  for (int64_t i = 0; i < n; ++i) {
    result.pred.push_back(pred.data_ptr<int64_t>()[i]);
    result.metric.push_back(depth.data_ptr<double>()[i]);
  }
  result.cost = ledger.Totals();
  return result;
}

void AdaptiveVitVictim::InferOne(const torch::Tensor& x, const std::string& point) {
  CheckPoint(point);
  model_->InferGathered(x, nullptr);
}

}  // namespace effrobust
