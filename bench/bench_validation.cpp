// An input-validation detector against DeepSloth, as the paper's Table 4
// measures it, on our own parts: features from a second network trained
// here (the paper uses a frozen ImageNet ResNet-50, which needs downloaded
// weights) -> RBF SVM with probability outputs (defenses/svm_detector.h,
// libsvm). Clean test images and their DeepSloth twins (L-inf 8/255) are
// split by source image, so a twin never sits on the other side of its
// source (evaluation/validation_metrics.h); the detector trains on one side
// and is scored on the other, then on the JPEG (q 90) and non-local-means
// (h 10, 7, 21) versions of the held-out images (defenses/transforms.h).
// Prints clean rate (1 - FPR), detection rate (TPR) at P >= 0.5, their
// mean, ROC-AUC and the detector's latency per image (features + SVM).
// Usage: bench_validation [VICTIM=runs/models/sdn-fmnist.pt]
//          [FEATURES=runs/models/skipnet-fmnist.pt] [SAMPLES=400] [THREADS=1] [NORM=linf|l2]
// (DeepSloth's catalog defaults for the norm: L-inf 8/255 x 30 steps, or L2
// radius 1.0 x 550 steps.)
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "defenses/svm_detector.h"
#include "defenses/torch_transforms.h"
#include "defenses/transforms.h"
#include "evaluation/validation_metrics.h"
#include "models/victim_loader.h"

using namespace effrobust;

namespace {

// One feature row per image: the channel means of every activation of the
// feature network (spatial or token means), concatenated.
std::vector<std::vector<double>> Features(VictimModel& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  VictimOutputs o = net.Forward(x, /*keep_activations=*/true);
  std::vector<torch::Tensor> parts;
  for (const torch::Tensor& a : o.activations) {
    if (a.dim() == 4)
      parts.push_back(a.mean({2, 3}));
    else if (a.dim() == 3)
      parts.push_back(a.mean(1));
    else
      parts.push_back(a.flatten(1));
  }
  torch::Tensor f = torch::cat(parts, 1).to(torch::kFloat64).contiguous();
  std::vector<std::vector<double>> rows(static_cast<size_t>(f.size(0)));
  for (int64_t i = 0; i < f.size(0); ++i) {
    const double* p = f[i].data_ptr<double>();
    rows[static_cast<size_t>(i)].assign(p, p + f.size(1));
  }
  return rows;
}

void Report(const char* name, const SvmDetector& svm, VictimModel& net, const torch::Tensor& clean,
            const torch::Tensor& adv) {
  const double t0 = MonotonicSeconds();
  std::vector<double> scores = svm.Score(Features(net, clean));
  const std::vector<double> adv_scores = svm.Score(Features(net, adv));
  const double ms = (MonotonicSeconds() - t0) * 1e3 / static_cast<double>(2 * clean.size(0));
  std::vector<bool> labels(scores.size(), false);
  scores.insert(scores.end(), adv_scores.begin(), adv_scores.end());
  labels.resize(scores.size(), true);
  const DetectionRates r = RatesAt(scores, labels, 0.5);
  std::printf("%-22s clean rate %.3f  detection rate %.3f  mean %.3f  AUC %.3f  %.3f ms/image\n",
              name, r.clean_rate, r.detection_rate, r.mean, RocAuc(scores, labels), ms);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--help") {
    std::printf(
        "usage: bench_validation [VICTIM.pt] [FEATURES.pt] [SAMPLES=400] [THREADS=1] [NORM=linf]\n");
    return 0;
  }
  const std::string victim_path = argc > 1 ? argv[1] : "runs/models/sdn-fmnist.pt";
  const std::string feature_path = argc > 2 ? argv[2] : "runs/models/skipnet-fmnist.pt";
  const int64_t n = argc > 3 ? std::atoll(argv[3]) : 400;
  torch::set_num_threads(argc > 4 ? std::atoi(argv[4]) : 1);
  LoadedVictim victim = LoadVictim(victim_path, "fashion-mnist");
  LoadedVictim features = LoadVictim(feature_path, "fashion-mnist");
  const ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  const torch::Tensor x = ImagesTensor(test, 0, n), y = LabelsTensor(test, 0, n);
  const std::string norm = argc > 5 ? argv[5] : "linf";
  auto attack = MakeAttack("deepsloth", CompleteAttackParams("deepsloth", {{"norm", norm}}));
  std::vector<uint64_t> seeds(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) seeds[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
  double t0 = MonotonicSeconds();
  const torch::Tensor adv = attack->Run(*victim.victim, x, y, seeds).detach();
  std::printf("DeepSloth (%s, catalog defaults) on %lld test images of %s: %.1f s\n", norm.c_str(),
              static_cast<long long>(n), victim_path.c_str(), MonotonicSeconds() - t0);

  // Sources [0, n): the clean image and its twin share a side.
  std::vector<int64_t> source(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) source[static_cast<size_t>(i)] = i;
  const std::vector<bool> is_test = SplitBySource(source, 0.3, 1);
  std::vector<int64_t> train_idx, test_idx;
  for (int64_t i = 0; i < n; ++i)
    (is_test[static_cast<size_t>(i)] ? test_idx : train_idx).push_back(i);
  auto pick = [](const torch::Tensor& t, const std::vector<int64_t>& idx) {
    return t.index_select(0, torch::tensor(idx, torch::kInt64));
  };
  std::vector<std::vector<double>> rows = Features(*features.victim, pick(x, train_idx));
  const std::vector<std::vector<double>> adv_rows =
      Features(*features.victim, pick(adv, train_idx));
  std::vector<bool> labels(rows.size(), false);
  rows.insert(rows.end(), adv_rows.begin(), adv_rows.end());
  labels.resize(rows.size(), true);
  t0 = MonotonicSeconds();
  const SvmDetector svm = SvmDetector::Train(rows, labels);
  std::printf(
      "features: %lld per image from %s; SVM trained on %zu images (%zu sources) in %.2f s, "
      "%lld support vectors, gamma %.4g; tested on %zu held-out sources\n",
      static_cast<long long>(svm.features()), feature_path.c_str(), rows.size(), train_idx.size(),
      MonotonicSeconds() - t0, static_cast<long long>(svm.support_vectors()), svm.gamma(),
      test_idx.size());
  const torch::Tensor xc = pick(x, test_idx), xa = pick(adv, test_idx);
  Report("plain", svm, *features.victim, xc, xa);
  const JpegTransform jpeg(90);
  Report("JPEG q90", svm, *features.victim, ApplyTransform(jpeg, xc), ApplyTransform(jpeg, xa));
  const NonLocalMeansTransform nlm(10, 7, 21);
  Report("non-local means", svm, *features.victim, ApplyTransform(nlm, xc),
         ApplyTransform(nlm, xa));
  return 0;
}
