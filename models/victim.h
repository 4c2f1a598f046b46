// The victim interface: what attacks, meters and executors see of a dynamic
// model, whatever its family. One adapter per family (multi_exit_victim,
// skip_net, adaptive_vit) implements it over a torch module.
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_VICTIM_H_
#define EFFROBUST_MODELS_VICTIM_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/cost_ledger.h"

namespace effrobust {

// Family names, as stored in checkpoints and results.
constexpr const char* kFamilyEarlyExit = "early_exit";        // multi-exit CNN (DeepSloth)
constexpr const char* kFamilySkipGate = "skip_gate";          // gated skip network (ILFO, GradMDM)
constexpr const char* kFamilyAdaptiveToken = "adaptive_token";  // A-ViT (SlowFormer)

// One differentiable pass over a batch: everything an attack may follow.
// Fields a family does not have stay empty/undefined.
struct VictimOutputs {
  torch::Tensor logits;                    // [B, classes] final classifier
  std::vector<torch::Tensor> exit_logits;  // early_exit: every exit, last = final
  std::vector<torch::Tensor> gates;        // skip_gate: per gated block, P(run) [B]
  torch::Tensor ponder;                    // adaptive_token: ponder cost per token [B, T]
  torch::Tensor halting;                   // adaptive_token: halting score [B, L, T]
  // With keep_activations: the output of every non-linearity (ReLU/GELU) on
  // the full computation, for activation-density (sponge) objectives.
  std::vector<torch::Tensor> activations;
};

// Dynamic inference of a batch, each sample as if it ran alone.
struct DynamicResult {
  std::vector<int64_t> pred;    // the dynamic model's prediction
  std::vector<double> metric;   // the family's own efficiency metric (metric_name())
  SampleCosts cost;             // executed-path FLOPs, MACs, energy, activations
};

class VictimModel {
 public:
  virtual ~VictimModel() = default;

  virtual std::string family() const = 0;
  virtual int64_t in_channels() const = 0;
  virtual int64_t image_size() const = 0;
  virtual int64_t num_classes() const = 0;

  // The underlying module (device moves, eval/train, parameters).
  virtual torch::nn::Module& module() = 0;

  // Differentiable forward of a batch [B, C, H, W] in [0, 1] (see
  // VictimOutputs). Gradients flow to the input.
  virtual VictimOutputs Forward(const torch::Tensor& x, bool keep_activations = false) = 0;

  // Operating points the dynamic inference can run at: {"rad5", "rad15"}
  // (early-exit thresholds) or {""} (a single behaviour). Result columns and
  // metrics carry the point as a suffix when it is not empty.
  virtual std::vector<std::string> OperatingPoints() const = 0;

  // Name of the family's efficiency metric in DynamicResult::metric:
  // "exit" (exit index), "blocks_run" (gated blocks executed),
  // "token_depth" (active token-layers / all token-layers).
  virtual std::string metric_name() const = 0;

  // Measured dynamic inference of a batch at `point`, with per-sample cost.
  // Call under NoGradGuard. Throws ModelError on an unknown point.
  virtual DynamicResult Measure(const torch::Tensor& x, const std::string& point) = 0;

  // Plain dynamic inference of one sample [1, C, H, W] at `point`, as a
  // deployment would run it (what latency times). Call under NoGradGuard.
  virtual void InferOne(const torch::Tensor& x, const std::string& point) = 0;

  // FLOPs of one sample with every dynamic part executed (all exits/blocks/
  // tokens); what "recovered FLOPs" compares against.
  virtual double full_flops() const = 0;

  // Runtime cap (the exit_cap defense): from now on Measure and InferOne
  // run at most `k` classifiers, exiting at classifier k at the latest;
  // k = 0 lifts the cap. Forward is unaffected. Throws ModelError for a
  // family without exits (the default).
  virtual void SetExitCap(int64_t k);

  // early_exit: the logits of every exit but the final one (K - 1 tensors
  // [B, classes]), differentiable: what DeepSloth follows. Equal to
  // Forward(x).exit_logits without its last entry (the default does exactly
  // that); an adapter may skip the layers only the final exit needs.
  virtual std::vector<torch::Tensor> InternalExitLogits(const torch::Tensor& x);

  bool is_training() { return module().is_training(); }
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_VICTIM_H_
