#include "models/cost_ledger.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace effrobust {

torch::Tensor NonzeroPerSample(const torch::Tensor& t) {
  torch::NoGradGuard no_grad;
  return (t.detach().abs() > kNonzeroThreshold).flatten(1).sum(1).to(torch::kFloat64).cpu();
}

CostLedger::CostLedger(int64_t batch) : batch_(batch) {}

void CostLedger::Add(const LayerUse& use) {
  torch::NoGradGuard no_grad;
  if (!use.input.defined() || !use.output.defined() || use.input.size(0) != batch_ ||
      use.output.size(0) != batch_) {
    throw ModelError("CostLedger::Add: input and output must have " + std::to_string(batch_) +
                     " rows");
  }
  std::vector<double> share(batch_, 1.0);
  if (use.share.defined()) {
    torch::Tensor s = use.share.detach().to(torch::kFloat64).cpu().contiguous();
    if (s.numel() != batch_) {
      throw ModelError("CostLedger::Add: share has " + std::to_string(s.numel()) +
                       " entries for a batch of " + std::to_string(batch_));
    }
    share.assign(s.data_ptr<double>(), s.data_ptr<double>() + batch_);
  }
  double params = 0, nonzero_params = 0;
  for (const auto& p : use.params) {
    params += static_cast<double>(p.numel());
    nonzero_params += (p.detach().abs() > kNonzeroThreshold).sum().item<double>();
  }
  const double in_per_sample = static_cast<double>(use.input.numel() / batch_);
  const double out_per_sample = static_cast<double>(use.output.numel() / batch_);
  torch::Tensor in_nz = NonzeroPerSample(use.input).contiguous();
  torch::Tensor out_nz = NonzeroPerSample(use.output).contiguous();
  const double* in_p = in_nz.data_ptr<double>();
  const double* out_p = out_nz.data_ptr<double>();
  Layer layer;
  layer.stage = use.stage;
  layer.flops = use.flops;
  layer.share = share;
  layer.counts.resize(batch_);
  for (int64_t b = 0; b < batch_; ++b) {
    const double s = share[b];
    const double on = s > 0 ? 1.0 : 0.0;
    LayerCounts& c = layer.counts[b];
    c.macs = use.macs * s;
    c.params = params * on;
    c.nonzero_params = nonzero_params * on;
    c.in_total = in_per_sample * s;
    // A layer cannot read or write more non-zeros than the elements it is
    // charged for (a tensor may still hold values of skipped parts).
    c.in_nonzero = std::min(in_p[b] * on, c.in_total);
    c.out_total = out_per_sample * s;
    c.out_nonzero = std::min(out_p[b] * on, c.out_total);
  }
  layers_.push_back(std::move(layer));
}

SampleCosts CostLedger::Totals(const std::vector<int64_t>& last_stage) const {
  if (!last_stage.empty() && static_cast<int64_t>(last_stage.size()) != batch_) {
    throw ModelError("CostLedger::Totals: last_stage has " + std::to_string(last_stage.size()) +
                     " entries for a batch of " + std::to_string(batch_));
  }
  SampleCosts t;
  for (auto* v : {&t.flops, &t.macs, &t.energy_pj, &t.energy_worst_pj, &t.act_nonzero,
                  &t.act_total}) {
    v->assign(batch_, 0.0);
  }
  for (const Layer& layer : layers_) {
    for (int64_t b = 0; b < batch_; ++b) {
      if (!last_stage.empty() && layer.stage > last_stage[b]) continue;
      const LayerCounts& c = layer.counts[b];
      t.flops[b] += layer.flops * layer.share[b];
      t.macs[b] += c.macs;
      t.energy_pj[b] += EnergyOptimisedPj(c);
      t.energy_worst_pj[b] += EnergyWorstPj(c);
      t.act_nonzero[b] += c.out_nonzero;
      t.act_total[b] += c.out_total;
    }
  }
  return t;
}

}  // namespace effrobust
