// NICGSlowDown (Chen et al., CVPR 2022; attacks.md 7) against an attention
// captioner: perturb the image so greedy decoding emits <end> as late as
// possible. Per decoding step t of the adversarial image's own greedy
// caption, s_t = p_t(<end>) + [y_t != <end>] p_t(y_t) (y_t the argmax);
// loss = mean over the sample's steps of -log(1 - s_t) (binary cross-entropy
// of s_t against 0: delay <end>, and keep the emitted tokens unsure so the
// caption keeps changing) + c * ReLU(d(x_adv, x) - budget). x_adv =
// (tanh(w) + 1) / 2 with w optimised by Adam. d: the sum of squared
// differences (l2; so budget is a squared L2 norm) or the largest absolute
// difference (linf; the reference measures it signed, a bug we do not copy).
// Of all iterates within the budget, the one with the longest caption is
// kept (the latest on ties); the clean image if none is longer. Each
// sample's loss covers only its own steps, so results do not depend on the
// batch. Deterministic (no randomness).
#ifndef EFFROBUST_ATTACKS_NICG_SLOWDOWN_H_
#define EFFROBUST_ATTACKS_NICG_SLOWDOWN_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/captioner.h"
#include "models/captioning_victim.h"

namespace effrobust {

struct NicgSlowDownOptions {
  std::string norm = "l2";  // Default: l2 ("l2" or "linf")
  double budget = 1.0;      // Default: 1.0 (l2: sum of squares; linf: use 0.03)
  double c = 100;           // Default: 100 (penalty weight, as the reference)
  double lr = 0.05;         // Default: 0.05 (Adam on w; the reference uses 0.001 for 1000 steps)
  int64_t iterations = 100;  // Default: 100
  int64_t max_len = 60;     // Default: 60
};

struct NicgSlowDownResult {
  torch::Tensor images;          // [B, C, S, S] adversarial (or clean) images
  std::vector<int64_t> steps;    // decoder steps of each kept image
  std::vector<double> distance;  // d(x_adv, x) of each kept image
  int64_t batch_steps = 0;       // greedy steps the batch ran, summed over the iterations
                                 // (the attack's decoder work is batch_steps x B)
};

// NICGSlowDown's objective without the budget penalty, per sample [B]:
// the mean over the sample's own greedy steps (g.steps) of -log(1 - s_t)
// (see top of file), from g.logits. The attack minimises it; it keeps the
// graph of g.logits. Also used by efficiency-aware adversarial training
// (models/adversarial_training.h).
torch::Tensor NicgSlowDownLoss(const GreedyResult& g);

// Attacks `images` [B, C, S, S] in [0, 1] on the device of `model`.
// Throws AttackError on bad options; whatever the model throws passes
// through. Gradients are on inside whatever the caller's grad mode. The
// model is left in eval mode with its parameters' requires_grad as they
// were (frozen during the attack).
NicgSlowDownResult NicgSlowDown(CaptioningVictim& model, const torch::Tensor& images,
                                const NicgSlowDownOptions& options);

// The same on effrobust's own captioner (CaptionerVictim(model)); the same
// results as on that adapter.
NicgSlowDownResult NicgSlowDown(Captioner& model, const torch::Tensor& images,
                                const NicgSlowDownOptions& options);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_NICG_SLOWDOWN_H_
