// Adversarial training (issue 7 §2) of the multi-exit CNN, the captioner and
// the detector, as a TrainOptions::adversarial hook the family trainers call
// on every batch:
//  * pgd (Madry et al.): an inner L-inf PGD ascends the batch's own training
//    loss (multi-exit: the SDN-weighted cross-entropy over the exits;
//    captioner: the teacher-forced caption loss; detector: the detection
//    loss), from a random start uniform in [-epsilon, epsilon];
//  * efficiency: the inner loop follows the family's efficiency attack
//    objective instead (multi-exit: DeepSloth's, descended; captioner:
//    NICGSlowDown's, descended; detector: Overload's, ascended), same start,
//    steps and ball;
// then the model is trained on (1 - mix) x clean loss + mix x the same
// supervised loss on the adversarial images (correct labels at every exit,
// the true caption ending in <end>, only the true boxes). The inner loop
// runs the model in eval mode; the loss is computed back in train mode.
// The captioner's adversarial training covers its decoder phase (the encoder
// is frozen there; adversarial images pass through it every batch).
// Uses torch. Thread-safety: a hook is used by one trainer at a time.
#ifndef EFFROBUST_MODELS_ADVERSARIAL_TRAINING_H_
#define EFFROBUST_MODELS_ADVERSARIAL_TRAINING_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/multi_exit_cnn.h"
#include "models/trainer.h"

namespace effrobust {

enum class AdversarialMode { kPgd, kEfficiency };

struct AdversarialOptions {
  AdversarialMode mode = AdversarialMode::kPgd;  // Default: pgd
  double epsilon = 8.0 / 255;  // Default: 8/255 (L-inf radius, DeepSloth's _adv_PGD_10_8_2)
  double step = 2.0 / 255;     // Default: 2/255 (sign step)
  int64_t steps = 10;          // Default: 10 (inner iterations)
  double mix = 0.5;            // Default: 0.5 (adversarial share of each batch's loss)
  uint64_t seed = 1;           // Default: 1 (random starts; batch b uses MixSeed(seed, b, n))
  int64_t max_len = 60;        // Default: 60 (captioner efficiency: greedy decoding limit)
  double threshold = 0.25;     // Default: 0.25 (detector efficiency: Overload's score threshold)
};

// "pgd" or "efficiency". Throws ModelError naming the allowed names.
AdversarialMode ParseAdversarialMode(const std::string& name);
std::string AdversarialModeName(AdversarialMode mode);

// The archs adversarial training supports: multi_exit_cnn, captioner, detector.
const std::vector<std::string>& AdversarialArchs();

// Throws ModelError naming the arch and what is allowed unless `arch` is
// supported, and naming the option unless 0 < epsilon <= 1, step > 0,
// steps >= 1, 0 < mix <= 1, max_len >= 1 and 0 < threshold < 1.
void CheckAdversarialOptions(const std::string& arch, const AdversarialOptions& options);

// What ModelMetadata::adversarial records, e.g. "pgd linf eps=0.0314
// step=0.00784 steps=10 mix=0.5" or "efficiency(deepsloth) linf eps=...".
// REQUIRES: CheckAdversarialOptions passed.
std::string AdversarialLabel(const std::string& arch, const AdversarialOptions& options);

// The inner loop's objective on a batch: a scalar function of the images
// and the sign of the steps (+1 ascends it, -1 descends it).
struct InnerObjective {
  BatchLoss loss;
  double direction = 1;
};

// The objective of options.mode for `arch`, on `model` (the trainer's
// module: a MultiExitCnnImpl, CaptionerImpl or DetectorImpl); pgd follows
// `task_loss`. The result refers to `model` and `task_loss`, which must
// outlive it. Throws ModelError if `model` is not the arch's module.
InnerObjective MakeInnerObjective(const std::string& arch, const AdversarialOptions& options,
                                  torch::nn::Module& model, const BatchLoss& task_loss);

// The inner maximisation: start = uniform in [-epsilon, epsilon] per sample
// (sample n seeded MixSeed(seed, n)), then options.steps sign steps of
// options.step along objective.direction, projected onto the epsilon-ball
// around `images` and onto [0, 1] (attacks' LinfSignSteps). Returns detached
// images shaped like `images`; the model's parameters get no gradient.
torch::Tensor InnerMaximise(const torch::Tensor& images, const InnerObjective& objective,
                            const AdversarialOptions& options, uint64_t seed);

// The TrainOptions::adversarial hook for `arch` (see top of file). Batch b
// (counted from 0 over the whole run) starts from seed MixSeed(options.seed,
// b). Throws ModelError (from CheckAdversarialOptions) on bad options; the
// hook throws ModelError if the trainer's module is not the arch's.
TrainingLossHook MakeAdversarialTrainingHook(const std::string& arch,
                                             const AdversarialOptions& options);

// Clean efficiency of a multi-exit model at each of `thresholds` (operating
// point -> q), measured as MultiExitVictim::Measure does, under NoGradGuard
// in eval mode, in batches of 500.
struct ExitCost {
  double mean_exit = 0;    // mean exit index (0-based; K-1 = final)
  double flops_share = 0;  // mean executed FLOPs / the full network's
  double accuracy = 0;     // early-exit accuracy against `labels`
};
std::map<std::string, ExitCost> MeasureExitCost(MultiExitCnn& model,
                                                const std::map<std::string, double>& thresholds,
                                                const torch::Tensor& images,
                                                const torch::Tensor& labels);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_ADVERSARIAL_TRAINING_H_
