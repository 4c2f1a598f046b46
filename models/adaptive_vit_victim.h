// The adaptive-token family as a VictimModel: an AdaptiveVit with per-token
// halting. One operating point (""). Metric "token_depth": active
// token-blocks / all token-blocks of the sample, in [0, 1].
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_ADAPTIVE_VIT_VICTIM_H_
#define EFFROBUST_MODELS_ADAPTIVE_VIT_VICTIM_H_

#include <string>
#include <vector>

#include "models/adaptive_vit.h"
#include "models/victim.h"

namespace effrobust {

class AdaptiveVitVictim : public VictimModel {
 public:
  explicit AdaptiveVitVictim(AdaptiveVit model) : model_(std::move(model)) {}

  std::string family() const override { return kFamilyAdaptiveToken; }
  int64_t in_channels() const override { return model_->config().in_channels; }
  int64_t image_size() const override { return model_->config().image_size; }
  int64_t num_classes() const override { return model_->config().num_classes; }
  torch::nn::Module& module() override { return *model_; }
  // logits, ponder [B, T], halting [B, L, T]; activations: every GELU
  // output [B, T, hidden] with halted tokens zeroed.
  VictimOutputs Forward(const torch::Tensor& x, bool keep_activations) override;
  std::vector<std::string> OperatingPoints() const override { return {""}; }
  std::string metric_name() const override { return "token_depth"; }
  // Masked batch pass (AdaptiveVitImpl::Run) with every layer in a
  // CostLedger. Throws ModelError on a point other than "".
  DynamicResult Measure(const torch::Tensor& x, const std::string& point) override;
  // AdaptiveVitImpl::InferGathered: halted tokens are dropped physically.
  void InferOne(const torch::Tensor& x, const std::string& point) override;
  double full_flops() const override { return model_->FullFlops(); }

  AdaptiveVit& model() { return model_; }

 private:
  AdaptiveVit model_;
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_ADAPTIVE_VIT_VICTIM_H_
