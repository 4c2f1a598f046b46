#include "defenses/input_detector.h"

#include <cmath>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "defenses/svm_detector.h"
#include "defenses/torch_transforms.h"
#include "defenses/transforms.h"
#include "evaluation/validation_metrics.h"

namespace effrobust {
namespace {

std::vector<std::vector<double>> BatchedFeatures(const FeatureFunction& features,
                                                 const torch::Tensor& x, int64_t batch_size) {
  std::vector<std::vector<double>> rows;
  for (int64_t b = 0; b < x.size(0); b += batch_size) {
    std::vector<std::vector<double>> part =
        features(x.slice(0, b, std::min(x.size(0), b + batch_size)));
    rows.insert(rows.end(), part.begin(), part.end());
  }
  return rows;
}

torch::Tensor Pick(const torch::Tensor& t, const std::vector<int64_t>& idx) {
  return t.index_select(0, torch::tensor(idx, torch::kInt64));
}

}  // namespace

InputDetectorResult NoInputDetector(int64_t n) {
  InputDetectorResult r;
  r.is_test.assign(static_cast<size_t>(n), false);
  r.p_adv_clean.assign(static_cast<size_t>(n), std::nan(""));
  r.p_adv_adv = r.p_adv_clean;
  return r;
}

void AddInputDetectorColumns(const InputDetectorResult& r, RowBatch* view) {
  std::vector<int64_t> test(r.is_test.size());
  for (size_t i = 0; i < test.size(); ++i) test[i] = r.is_test[i] ? 1 : 0;
  view->AddInt("test", test);
  view->AddReal("p_adv_clean", r.p_adv_clean);
  view->AddReal("p_adv_adv", r.p_adv_adv);
}

std::vector<std::vector<double>> ActivationMeanFeatures(
    const std::vector<torch::Tensor>& activations) {
  std::vector<torch::Tensor> parts;
  for (const torch::Tensor& a : activations) {
    if (a.dim() == 4) {
      parts.push_back(a.mean({2, 3}));
    } else if (a.dim() == 3) {
      parts.push_back(a.mean(1));
    } else {
      parts.push_back(a.flatten(1));
    }
  }
  if (parts.empty()) return {};
  torch::Tensor f = torch::cat(parts, 1).to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<std::vector<double>> rows(static_cast<size_t>(f.size(0)));
  for (int64_t i = 0; i < f.size(0); ++i) {
    const double* p = f.data_ptr<double>() + i * f.size(1);
    rows[static_cast<size_t>(i)].assign(p, p + f.size(1));
  }
  return rows;
}

InputDetectorResult EvaluateInputDetector(const torch::Tensor& clean, const torch::Tensor& adv,
                                          const std::vector<int64_t>& source,
                                          const FeatureFunction& features, const ParamMap& params,
                                          uint64_t seed, int64_t batch_size) {
  if (clean.sizes() != adv.sizes() || clean.dim() != 4 ||
      static_cast<int64_t>(source.size()) != clean.size(0)) {
    throw DefenseError(
        "input_detector: clean and adversarial inputs must be [N, C, H, W] of the "
        "same shape with one source per input");
  }
  torch::NoGradGuard no_grad;
  const int64_t n = clean.size(0);
  const double test_share = NumberField(params, "test_share");
  InputDetectorResult r;
  r.is_test = SplitBySource(source, test_share, seed);
  r.p_adv_clean.assign(static_cast<size_t>(n), std::nan(""));
  r.p_adv_adv.assign(static_cast<size_t>(n), std::nan(""));
  std::vector<int64_t> train_idx, test_idx;
  std::set<int64_t> train_sources, test_sources;
  for (int64_t i = 0; i < n; ++i) {
    if (r.is_test[static_cast<size_t>(i)]) {
      test_idx.push_back(i);
      test_sources.insert(source[static_cast<size_t>(i)]);
    } else {
      train_idx.push_back(i);
      train_sources.insert(source[static_cast<size_t>(i)]);
    }
  }
  r.metrics["train_sources"] = static_cast<double>(train_sources.size());
  r.metrics["test_sources"] = static_cast<double>(test_sources.size());
  const double nan = std::nan("");
  for (const char* v : {"plain", "jpeg", "smoothed"}) {
    for (const char* m : {"clean_rate_", "detection_rate_", "mean_rate_", "auc_"}) {
      r.metrics[std::string(m) + v] = nan;
    }
  }
  r.metrics["ms_per_input"] = nan;
  r.metrics["train_seconds"] = nan;
  if (train_sources.size() < 2 || test_sources.size() < 2) {
    LogWarn("input_detector: " + std::to_string(train_sources.size()) + " training and " +
            std::to_string(test_sources.size()) +
            " test source(s); at least 2 of each are needed, so its rates are left empty "
            "(allowed: a unit with more samples or another test_share)");
    return r;
  }
  // Train: the training sources' clean (negative) and adversarial inputs.
  std::vector<std::vector<double>> rows =
      BatchedFeatures(features, Pick(clean, train_idx), batch_size);
  const std::vector<std::vector<double>> adv_rows =
      BatchedFeatures(features, Pick(adv, train_idx), batch_size);
  std::vector<bool> labels(rows.size(), false);
  rows.insert(rows.end(), adv_rows.begin(), adv_rows.end());
  labels.resize(rows.size(), true);
  SvmOptions svm_options;
  svm_options.seed = seed;
  double t0 = MonotonicSeconds();
  const SvmDetector svm = SvmDetector::Train(rows, labels, svm_options);
  r.metrics["train_seconds"] = MonotonicSeconds() - t0;

  const torch::Tensor test_clean = Pick(clean, test_idx), test_adv = Pick(adv, test_idx);
  const BlockJpegTransform jpeg(static_cast<int>(NumberField(params, "quality")));
  const NonLocalMeansTransform smooth(NumberField(params, "h"), 7, 21);
  const std::vector<std::pair<std::string, const Transform*>> variants = {
      {"plain", nullptr}, {"jpeg", &jpeg}, {"smoothed", &smooth}};
  for (const auto& [name, transform] : variants) {
    const torch::Tensor c = transform ? ApplyTransform(*transform, test_clean) : test_clean;
    const torch::Tensor a = transform ? ApplyTransform(*transform, test_adv) : test_adv;
    t0 = MonotonicSeconds();
    std::vector<double> scores = svm.Score(BatchedFeatures(features, c, batch_size));
    const std::vector<double> adv_scores = svm.Score(BatchedFeatures(features, a, batch_size));
    const double ms = (MonotonicSeconds() - t0) * 1e3 / static_cast<double>(2 * test_idx.size());
    if (!transform) {
      r.metrics["ms_per_input"] = ms;
      for (size_t k = 0; k < test_idx.size(); ++k) {
        r.p_adv_clean[static_cast<size_t>(test_idx[k])] = scores[k];
        r.p_adv_adv[static_cast<size_t>(test_idx[k])] = adv_scores[k];
      }
    }
    std::vector<bool> y(scores.size(), false);
    scores.insert(scores.end(), adv_scores.begin(), adv_scores.end());
    y.resize(scores.size(), true);
    const DetectionRates rates = RatesAt(scores, y, 0.5);
    r.metrics["clean_rate_" + name] = rates.clean_rate;
    r.metrics["detection_rate_" + name] = rates.detection_rate;
    r.metrics["mean_rate_" + name] = rates.mean;
    r.metrics["auc_" + name] = RocAuc(scores, y);
  }
  return r;
}

}  // namespace effrobust
