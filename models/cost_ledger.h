// Per-sample cost accounting of dynamic inference. A model's measuring
// forward pass reports every layer it executes (its input and output
// activations, parameters, analytic FLOPs and MACs, and which samples ran
// it); the ledger sums, per sample, FLOPs, MACs, activation counts and the
// energy model of evaluation/energy_model.h over the layers that sample
// executed. Not thread-safe (one ledger per forward pass).
#ifndef EFFROBUST_MODELS_COST_LEDGER_H_
#define EFFROBUST_MODELS_COST_LEDGER_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "evaluation/energy_model.h"

namespace effrobust {

// Per-sample totals (each vector has one entry per sample of the batch).
struct SampleCosts {
  std::vector<double> flops;            // analytic FLOPs of the executed path
  std::vector<double> macs;             // multiply-accumulates
  std::vector<double> energy_pj;        // EnergyOptimisedPj summed over layers
  std::vector<double> energy_worst_pj;  // EnergyWorstPj summed over layers
  std::vector<double> act_nonzero;      // non-zero output activations written
  std::vector<double> act_total;        // output activations written
};

// One layer execution over a batch.
struct LayerUse {
  torch::Tensor input;                // [B, ...] activations the layer read
  torch::Tensor output;               // [B, ...] activations it wrote
  std::vector<torch::Tensor> params;  // parameters it read (may be empty)
  double flops = 0;                   // per sample, when fully executed
  double macs = 0;                    // per sample, when fully executed
  // Optional [B] share in [0, 1] of the layer each sample executed: 0 for a
  // skipped block, the share of still-active tokens for token halting.
  // FLOPs, MACs and activation totals scale with it; parameters count in
  // full where it is > 0 and not at all where it is 0. Non-zero activation
  // counts are taken from `input`/`output` as given (the model zeroes what
  // it did not compute), capped at the scaled totals, and are 0 where the
  // share is 0. Undefined: 1.
  torch::Tensor share;
  // Early-exit stage the layer belongs to: it counts for sample b only if
  // stage <= last_stage[b] in Totals. -1: counts whenever share allows.
  int stage = -1;
};

class CostLedger {
 public:
  explicit CostLedger(int64_t batch);

  // Records one layer. REQUIRES: input/output have batch() rows; share, if
  // defined, has batch() entries.
  void Add(const LayerUse& use);

  // Per-sample totals. `last_stage` (empty = every stage) gives, per sample,
  // the last early-exit stage it executed.
  SampleCosts Totals(const std::vector<int64_t>& last_stage = {}) const;

  int64_t batch() const { return batch_; }
  size_t layers() const { return layers_.size(); }

 private:
  struct Layer {
    int stage = -1;
    double flops = 0;
    std::vector<double> share;       // per sample
    std::vector<LayerCounts> counts;  // per sample (already scaled by share)
  };
  int64_t batch_;
  std::vector<Layer> layers_;
};

// Number of entries of `t` per sample with |v| > kNonzeroThreshold, as a
// CPU double tensor [B].
torch::Tensor NonzeroPerSample(const torch::Tensor& t);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_COST_LEDGER_H_
