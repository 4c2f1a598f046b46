// The skip-gate family as a VictimModel: a SkipNet with one operating point
// (""). Metric: "blocks_run", the number of gated blocks a sample executed.
#ifndef EFFROBUST_MODELS_SKIP_NET_VICTIM_H_
#define EFFROBUST_MODELS_SKIP_NET_VICTIM_H_

#include <string>
#include <vector>

#include "models/skip_net.h"
#include "models/victim.h"

namespace effrobust {

class SkipNetVictim : public VictimModel {
 public:
  explicit SkipNetVictim(SkipNet model) : model_(std::move(model)) {}

  std::string family() const override { return kFamilySkipGate; }
  int64_t in_channels() const override { return model_->config().in_channels; }
  int64_t image_size() const override { return model_->config().image_size; }
  int64_t num_classes() const override { return model_->config().num_classes; }
  torch::nn::Module& module() override { return *model_; }
  // Logits as inference runs the network (straight-through hard gates, so
  // differentiable), gates = P(run) of every gated block, activations =
  // every ReLU output (skipped blocks included) when asked.
  VictimOutputs Forward(const torch::Tensor& x, bool keep_activations) override;
  std::vector<std::string> OperatingPoints() const override { return {""}; }
  std::string metric_name() const override { return "blocks_run"; }
  // Batch pass in which each sample takes its batch-1 dynamic path; every
  // executed layer (gates included) is charged to the samples that ran it.
  // Throws ModelError unless point is "".
  DynamicResult Measure(const torch::Tensor& x, const std::string& point) override;
  // SkipNet::InferDynamic: skipped blocks are not computed.
  void InferOne(const torch::Tensor& x, const std::string& point) override;
  double full_flops() const override { return model_->full_flops(); }

  SkipNet& model() { return model_; }

 private:
  static void CheckPoint(const std::string& point);
  SkipNet model_;
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_SKIP_NET_VICTIM_H_
