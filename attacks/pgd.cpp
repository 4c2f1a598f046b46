// PGD (L-infinity) on the final classifier's cross-entropy (any family): the accuracy attack
// baseline DeepSloth compares against. Random start uniform in [-eps, eps]
// from each sample's own generator, sign ascent, projection onto the
// eps-ball and [0, 1]. The loss is summed over the batch so that each
// sample's gradient is independent of the batch it is in.
#include "attacks/attack.h"
#include "attacks/attack_util.h"

#include <functional>

#include "common/error.h"

namespace effrobust {

namespace {

using namespace attacks_internal;

// Sum over samples of the final exit's cross-entropy (what PGD ascends).
torch::Tensor FinalExitCrossEntropy(VictimModel& victim, const torch::Tensor& in,
                                    const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(
      victim.Forward(in).logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
}

}  // namespace

std::unique_ptr<Attack> MakePgdAttack(const ParamMap& params) {
  const std::string norm = RequireString(params, "pgd", "norm");
  if (norm != "linf") {
    throw AttackError("attack 'pgd' supports norm 'linf' only, got '" + norm + "'");
  }
  const double eps = RequireNumber(params, "pgd", "eps");
  const double step = RequireNumber(params, "pgd", "step");
  const int64_t iterations = RequireCount(params, "pgd", "iterations");
  if (eps < 0 || step < 0) throw AttackError("attack 'pgd': eps and step must be >= 0");
  return std::make_unique<LinfSignAttack>("pgd", eps, step, iterations, /*start_radius=*/eps,
                                          /*direction=*/+1.0, FinalExitCrossEntropy);
}

}  // namespace effrobust
