#include "models/skip_net_victim.h"

#include "common/error.h"

namespace effrobust {

VictimOutputs SkipNetVictim::Forward(const torch::Tensor& x, bool keep_activations) {
  VictimOutputs out;
  SkipNetPass pass =
      model_->ForwardGated(x, nullptr, keep_activations ? &out.activations : nullptr);
  out.logits = pass.logits;
  out.gates = pass.gates;
  return out;
}

void SkipNetVictim::CheckPoint(const std::string& point) {
  if (!point.empty()) {
    throw ModelError("skip_net model has no operating point '" + point + "' (has only \"\")");
  }
}

DynamicResult SkipNetVictim::Measure(const torch::Tensor& x, const std::string& point) {
  CheckPoint(point);
  const int64_t n = x.size(0);
  CostLedger ledger(n);
  SkipNetPass pass = model_->ForwardGated(x, &ledger, nullptr);
  torch::Tensor pred = pass.logits.argmax(1).cpu().contiguous();
  torch::Tensor run = torch::zeros({n}, torch::kFloat64);
  for (const auto& m : pass.masks) run += m.detach().to(torch::kFloat64).cpu();
  run = run.contiguous();
  DynamicResult r;
  r.pred.assign(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + n);
  r.metric.assign(run.data_ptr<double>(), run.data_ptr<double>() + n);
  r.cost = ledger.Totals();
  return r;
}

void SkipNetVictim::InferOne(const torch::Tensor& x, const std::string& point) {
  CheckPoint(point);
  model_->InferDynamic(x);
}

}  // namespace effrobust
