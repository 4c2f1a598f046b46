// Adversarial training before / after (issue 7 §2): trains a family's model
// twice with the same seed and data -- standard, and adversarially trained
// (models/adversarial_training.h) -- and prints for each its clean accuracy,
// clean efficiency and efficiency under the family's efficiency attack on
// held-out test inputs:
//  * multi_exit: final-exit and early-exit accuracy (on the first EVAL test
//    images), mean exit and FLOPs share at RAD 5 % / 15 % (thresholds on the
//    5000 validation images), clean and under DeepSloth L-inf (catalog
//    defaults: eps 8/255, step 0.002, 30 iterations);
//  * captioner: scenes named right, BLEU-4, mean decoder steps, clean and
//    under NICGSlowDown L-inf (budget 0.03, lr 0.05, ATTACK_ITERS Adam steps);
//  * detector: AP50, boxes per image after NMS, clean and under Overload
//    (eps ATTACK_EPS, default 16/255; 10 iterations).
// Environment: FAMILY (multi_exit | captioner | detector; default
// multi_exit), MODE (pgd | efficiency; default pgd), TRAIN (training
// images or scenes), EPOCHS, EVAL (clean test inputs), ATTACK (attacked
// test inputs), AT_STEPS (inner iterations, default 10), AT_MIX (0.5),
// ATTACK_ITERS (captioner, default 100), ATTACK_EPS (detector), THREADS
// (default 2), SEED (1).
// Run: build/bench/bench_adversarial_training (Fashion-MNIST installed).
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "attacks/nicg_slowdown.h"
#include "attacks/overload.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "data/tensor_view.h"
#include "models/adversarial_training.h"
#include "models/captioner_trainer.h"
#include "models/detector_trainer.h"
#include "models/multi_exit_victim.h"
#include "models/trainer.h"

namespace effrobust {
namespace {

double EnvOr(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atof(v) : fallback;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

struct Setup {
  std::string family, mode;
  int64_t train, epochs, eval, attack, seed;
  AdversarialOptions at;
};

void Row(const char* model, double seconds, const std::string& figures) {
  std::printf("%-12s trained in %6.1f s | %s\n", model, seconds, figures.c_str());
  std::fflush(stdout);
}

std::string Format(const char* fmt, double a, double b = 0, double c = 0, double d = 0,
                   double e = 0, double f = 0) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, a, b, c, d, e, f);
  return buf;
}

// Clean and DeepSloth-attacked early exit at rad5 / rad15.
std::string MultiExitFigures(MultiExitCnn& model, const ModelMetadata& meta, const ImageSet& test,
                             const Setup& s) {
  const torch::Tensor x = ImagesTensor(test, 0, s.eval), y = LabelsTensor(test, 0, s.eval);
  auto clean = MeasureExitCost(model, meta.thresholds, x, y);
  const torch::Tensor xa = ImagesTensor(test, 0, s.attack), ya = LabelsTensor(test, 0, s.attack);
  MultiExitVictim victim(model, meta.thresholds);
  auto attack = MakeAttack("deepsloth", CompleteAttackParams("deepsloth", {}));
  std::vector<torch::Tensor> adv;
  for (int64_t b = 0; b < s.attack; b += 250) {
    const int64_t e = std::min(s.attack, b + 250);
    std::vector<uint64_t> seeds;
    for (int64_t i = b; i < e; ++i) seeds.push_back(static_cast<uint64_t>(i));
    adv.push_back(attack->Run(victim, xa.slice(0, b, e), ya.slice(0, b, e), seeds));
  }
  auto attacked = MeasureExitCost(model, meta.thresholds, torch::cat(adv), ya);
  auto base = MeasureExitCost(model, meta.thresholds, xa, ya);
  std::string out = Format("final-exit acc %.4f", meta.full_accuracy);
  for (const char* p : {"rad5", "rad15"}) {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  " | %s: clean acc %.4f, exit %.3f, FLOPs %.3f; attack subset clean exit %.3f "
                  "FLOPs %.3f -> DeepSloth exit %.3f FLOPs %.3f (acc %.4f)",
                  p, clean[p].accuracy, clean[p].mean_exit, clean[p].flops_share, base[p].mean_exit,
                  base[p].flops_share, attacked[p].mean_exit, attacked[p].flops_share,
                  attacked[p].accuracy);
    out += buf;
  }
  return out;
}

void RunMultiExit(const ImageSet& train, const ImageSet& test, Setup s) {
  TrainOptions o;
  o.epochs = static_cast<int>(s.epochs);
  o.max_train = s.train;
  o.max_test = s.eval;
  o.seed = s.seed;
  for (bool adversarial : {false, true}) {
    o.adversarial = adversarial ? MakeAdversarialTrainingHook("multi_exit_cnn", s.at) : nullptr;
    const double t0 = MonotonicSeconds();
    TrainResult r = TrainMultiExit(train, test, o);
    const double secs = MonotonicSeconds() - t0;
    Row(adversarial ? "after AT" : "standard", secs, MultiExitFigures(r.model, r.meta, test, s));
  }
}

void RunCaptioner(const ImageSet& train, const ImageSet& test, Setup s) {
  TrainOptions o;
  o.epochs = static_cast<int>(s.epochs);
  o.batch_size = 64;
  o.seed = s.seed;
  CaptionerTrainOptions cap;
  cap.train_scenes = s.train;
  cap.test_scenes = s.eval;
  NicgSlowDownOptions nicg;
  nicg.norm = "linf";
  nicg.budget = 0.03;
  nicg.iterations = static_cast<int64_t>(EnvOr("ATTACK_ITERS", 100));
  s.at.max_len = cap.max_len;
  SceneGenerator gen(test, cap.test_seed, cap.scenes);
  const std::vector<Scene> attacked_scenes = MakeScenes(gen, 0, s.attack);
  for (bool adversarial : {false, true}) {
    o.adversarial = adversarial ? MakeAdversarialTrainingHook("captioner", s.at) : nullptr;
    const double t0 = MonotonicSeconds();
    TrainedModel t = TrainCaptioner(train, test, o, cap);
    const double secs = MonotonicSeconds() - t0;
    Captioner model(std::dynamic_pointer_cast<CaptionerImpl>(t.module));
    NicgSlowDownResult r = NicgSlowDown(model, SceneImages(attacked_scenes), nicg);
    double clean_steps = 0, adv_steps = 0;
    {
      torch::NoGradGuard no_grad;
      for (int64_t st : model->Greedy(SceneImages(attacked_scenes), cap.max_len).steps) {
        clean_steps += static_cast<double>(st);
      }
    }
    for (int64_t st : r.steps) adv_steps += static_cast<double>(st);
    const double n = static_cast<double>(s.attack);
    Row(adversarial ? "after AT" : "standard", secs,
        Format("named right %.3f, BLEU-4 %.3f, clean steps %.2f (%g scenes) | attack subset "
               "steps %.2f -> NICGSlowDown %.2f",
               t.meta.stats.at("multiset_accuracy"), t.meta.stats.at("bleu4"),
               t.meta.stats.at("mean_steps"), static_cast<double>(s.eval), clean_steps / n,
               adv_steps / n));
  }
}

void RunDetector(const ImageSet& train, const ImageSet& test, Setup s) {
  TrainOptions o;
  o.epochs = static_cast<int>(s.epochs);
  o.batch_size = 64;
  o.lr = 2e-3;
  o.seed = s.seed;
  DetectorTrainOptions det;
  det.train_scenes = s.train;
  det.test_scenes = s.eval;
  OverloadOptions ov;
  ov.eps = EnvOr("ATTACK_EPS", ov.eps);
  SceneGenerator gen(test, det.test_seed, det.scenes);
  const std::vector<Scene> attacked_scenes = MakeScenes(gen, 0, s.attack);
  for (bool adversarial : {false, true}) {
    o.adversarial = adversarial ? MakeAdversarialTrainingHook("detector", s.at) : nullptr;
    const double t0 = MonotonicSeconds();
    TrainedModel t = TrainDetector(train, test, o, det);
    const double secs = MonotonicSeconds() - t0;
    Detector model(std::dynamic_pointer_cast<DetectorImpl>(t.module));
    const torch::Tensor x = SceneImages(attacked_scenes);
    const torch::Tensor adv = Overload(model, x, ov);
    model->eval();
    double clean_boxes = 0, adv_boxes = 0;
    for (const auto& b : model->Detect(x, det.detect).boxes) clean_boxes += b.size();
    for (const auto& b : model->Detect(adv, det.detect).boxes) adv_boxes += b.size();
    const double n = static_cast<double>(s.attack);
    Row(adversarial ? "after AT" : "standard", secs,
        Format("AP50 %.3f, clean boxes %.2f (%g scenes) | attack subset boxes %.2f -> "
               "Overload (eps %.4f) %.2f",
               t.meta.stats.at("ap50"), t.meta.stats.at("mean_boxes"), static_cast<double>(s.eval),
               clean_boxes / n, ov.eps, adv_boxes / n));
  }
}

}  // namespace
}  // namespace effrobust

int main() {
  using namespace effrobust;
  Setup s;
  s.family = EnvOr("FAMILY", std::string("multi_exit"));
  s.mode = EnvOr("MODE", std::string("pgd"));
  const bool detector = s.family == "detector", captioner = s.family == "captioner";
  s.train = static_cast<int64_t>(EnvOr("TRAIN", captioner ? 2000 : detector ? 2000 : 10000));
  s.epochs = static_cast<int64_t>(EnvOr("EPOCHS", captioner ? 6 : detector ? 4 : 2));
  s.eval = static_cast<int64_t>(EnvOr("EVAL", captioner || detector ? 200 : 2000));
  s.attack = static_cast<int64_t>(EnvOr("ATTACK", captioner ? 20 : detector ? 50 : 500));
  s.seed = static_cast<int64_t>(EnvOr("SEED", 1));
  s.at.mode = ParseAdversarialMode(s.mode);
  s.at.steps = static_cast<int64_t>(EnvOr("AT_STEPS", static_cast<double>(s.at.steps)));
  s.at.mix = EnvOr("AT_MIX", s.at.mix);
  s.at.seed = static_cast<uint64_t>(s.seed);
  const int threads = static_cast<int>(EnvOr("THREADS", 2));
  torch::set_num_threads(threads);
  const std::string arch = captioner ? "captioner" : detector ? "detector" : "multi_exit_cnn";
  if (!captioner && !detector && s.family != "multi_exit") {
    std::fprintf(stderr, "FAMILY '%s' (allowed: multi_exit, captioner, detector)\n",
                 s.family.c_str());
    return 2;
  }
  CheckAdversarialOptions(arch, s.at);
  const ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  const ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  std::printf(
      "bench_adversarial_training: FAMILY=%s MODE=%s TRAIN=%lld EPOCHS=%lld EVAL=%lld ATTACK=%lld "
      "SEED=%lld threads %d; AT: %s\n",
      s.family.c_str(), s.mode.c_str(), static_cast<long long>(s.train),
      static_cast<long long>(s.epochs), static_cast<long long>(s.eval),
      static_cast<long long>(s.attack), static_cast<long long>(s.seed), threads,
      AdversarialLabel(arch, s.at).c_str());
  std::fflush(stdout);
  if (captioner) {
    RunCaptioner(train, test, s);
  } else if (detector) {
    RunDetector(train, test, s);
  } else {
    RunMultiExit(train, test, s);
  }
  return 0;
}
