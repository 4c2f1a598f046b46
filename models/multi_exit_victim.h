// The early-exit family as a VictimModel: a MultiExitCnn with its RAD
// thresholds (operating points "rad5", "rad15"). Metric: the exit index.
#ifndef EFFROBUST_MODELS_MULTI_EXIT_VICTIM_H_
#define EFFROBUST_MODELS_MULTI_EXIT_VICTIM_H_

#include <map>
#include <string>
#include <vector>

#include "models/multi_exit_cnn.h"
#include "models/victim.h"

namespace effrobust {

// The early-exit rule over a batch's exit logits (K tensors [B, classes]),
// shared by every early-exit victim: each sample exits at the first exit
// whose softmax confidence reaches `q` (ExitIndex), or at exit
// `exit_cap` - 1 if that comes first (cap > 0); its prediction is that exit's,
// its metric the exit index, its costs the ledger's up to that exit.
DynamicResult EarlyExitDecisions(const std::vector<torch::Tensor>& exit_logits, double q,
                                 int64_t exit_cap, const CostLedger& ledger);

class MultiExitVictim : public VictimModel {
 public:
  // `thresholds`: operating point -> exit threshold q (may be empty for
  // attack-only use; Measure then throws).
  MultiExitVictim(MultiExitCnn model, std::map<std::string, double> thresholds);

  std::string family() const override { return kFamilyEarlyExit; }
  int64_t in_channels() const override { return model_->config().in_channels; }
  int64_t image_size() const override { return model_->config().image_size; }
  int64_t num_classes() const override { return model_->config().num_classes; }
  torch::nn::Module& module() override { return *model_; }
  VictimOutputs Forward(const torch::Tensor& x, bool keep_activations) override;
  // Skips the final block and head (about a third of the forward FLOPs).
  std::vector<torch::Tensor> InternalExitLogits(const torch::Tensor& x) override;
  std::vector<std::string> OperatingPoints() const override;
  std::string metric_name() const override { return "exit"; }
  DynamicResult Measure(const torch::Tensor& x, const std::string& point) override;
  void InferOne(const torch::Tensor& x, const std::string& point) override;
  double full_flops() const override { return model_->ExitFlops().back(); }
  void SetExitCap(int64_t k) override;

  MultiExitCnn& model() { return model_; }

 private:
  double Threshold(const std::string& point) const;
  MultiExitCnn model_;
  std::map<std::string, double> thresholds_;
  int64_t exit_cap_ = 0;  // 0: no cap
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_MULTI_EXIT_VICTIM_H_
