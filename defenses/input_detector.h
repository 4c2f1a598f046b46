// The input-validation detector as a unit-level defense (issue 7 §3, the
// paper's Table 4): features of a unit's clean and adversarial inputs, an
// RBF SVM with probability outputs (defenses/svm_detector.h) trained on the
// sources of one side of a split by source sample (an input and its
// adversarial twin always on the same side), then scored on the held-out
// sources plain, after the paper's 8x8-block JPEG and after its non-local
// means smoothing. An input is flagged when P(adversarial) >= 0.5.
// The paper's features come from a frozen ImageNet ResNet-50 (downloaded
// weights); here the executor passes a feature function over a network
// trained by effrobust (docs/results-defenses.md says which).
// Thread-safety: one call at a time per feature function.
#ifndef EFFROBUST_DEFENSES_INPUT_DETECTOR_H_
#define EFFROBUST_DEFENSES_INPUT_DETECTOR_H_

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/value.h"
#include "results/row_batch.h"

namespace effrobust {

// One feature row per image of a batch [B, C, H, W] (on the model's device).
using FeatureFunction = std::function<std::vector<std::vector<double>>(const torch::Tensor&)>;

struct InputDetectorResult {
  std::vector<bool> is_test;  // per input: held out for testing
  std::vector<double>
      p_adv_clean;                // per input: P(adversarial) of the clean input (NaN: train side)
  std::vector<double> p_adv_adv;  // per input: same for its adversarial twin
  // clean_rate_<v>, detection_rate_<v>, mean_rate_<v>, auc_<v> for v in
  // plain, jpeg, smoothed; ms_per_input (features + SVM on the plain test
  // inputs); train_sources, test_sources, train_seconds. Rates are NaN
  // when a side has fewer than 2 sources (then nothing is trained).
  std::map<std::string, double> metrics;
};

// Evaluates the detector on `clean` and `adv` ([N, C, H, W], CPU, same
// shape; row i of each comes from source[i]) with the parameters of the
// "input_detector" catalog entry (test_share, quality, h) and `seed` for the
// split and the SVM's probability folds; features in batches of
// `batch_size`. Throws DefenseError on mismatched shapes.
InputDetectorResult EvaluateInputDetector(const torch::Tensor& clean, const torch::Tensor& adv,
                                          const std::vector<int64_t>& source,
                                          const FeatureFunction& features, const ParamMap& params,
                                          uint64_t seed, int64_t batch_size = 250);

// The detector's row columns and metrics for a unit without adversarial
// twins (the clean attack): n inputs, none tested, every P NaN, no metrics.
InputDetectorResult NoInputDetector(int64_t n);

// Adds the per-input columns "test" (1: held out), "p_adv_clean" and
// "p_adv_adv" of `r` to a view (rows in input order).
void AddInputDetectorColumns(const InputDetectorResult& r, RowBatch* view);

// Channel means of every activation map in `activations` ([B, C, H, W] ->
// C values, [B, T, D] -> D values, else flattened), concatenated per image:
// the feature rows of a network's intermediate outputs.
std::vector<std::vector<double>> ActivationMeanFeatures(
    const std::vector<torch::Tensor>& activations);

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_INPUT_DETECTOR_H_
