// Sponge examples (Shumailov et al., EuroS&P 2021; attacks.md section 5),
// white-box, for every D1 family: maximise the activation density of the
// victim within an L-inf or L2 budget, so that zero-skipping hardware pays
// for more non-zero activations (the energy model of
// evaluation/energy_model.h). Objective, summed over samples and over the
// victim's non-linearity outputs a_l (VictimOutputs::activations):
//  * density (default): the differentiable l0 proxy of Cina et al.
//    (sponge poisoning), mean_j a_j^2 / (a_j^2 + sigma) per layer;
//  * magnitude: mean_j a_j^2 per layer (the sponge paper's white-box
//    objective, sum of squared activation norms, normalised per layer).
// The executed path of a dynamic model may move too (an exit, gate or
// halting decision can flip); the FLOPs meter shows whether it did.
//  * linf: random start uniform in [-eps, eps] per sample, sign ascent
//    with `step`, projection onto the eps-ball and [0, 1];
//  * l2: normalised-gradient ascent with `step`, projection onto the L2
//    ball of radius eps and [0, 1].
#include "attacks/attack.h"
#include "attacks/attack_util.h"

#include "common/error.h"

namespace effrobust {

namespace {

using namespace attacks_internal;

AttackLoss SpongeLoss(const std::string& objective, double sigma) {
  return [objective, sigma](VictimModel& victim, const torch::Tensor& in, const torch::Tensor&) {
    VictimOutputs out = victim.Forward(in, /*keep_activations=*/true);
    if (out.activations.empty()) {
      throw AttackError("attack 'sponge': the " + victim.family() +
                        " model reports no activations to densify");
    }
    torch::Tensor loss = torch::zeros({}, in.options());
    for (const auto& a : out.activations) {
      torch::Tensor sq = a.flatten(1).pow(2);
      torch::Tensor per_sample =
          objective == "magnitude" ? sq.mean(1) : (sq / (sq + sigma)).mean(1);
      loss = loss + per_sample.sum();
    }
    return loss;
  };
}

}  // namespace

std::unique_ptr<Attack> MakeSpongeAttack(const ParamMap& params) {
  const std::string norm = RequireString(params, "sponge", "norm");
  const std::string objective = RequireString(params, "sponge", "objective");
  const double eps = RequireNumber(params, "sponge", "eps");
  const double step = RequireNumber(params, "sponge", "step");
  const int64_t iterations = RequireCount(params, "sponge", "iterations");
  const double sigma = RequireNumber(params, "sponge", "sigma");
  if (objective != "density" && objective != "magnitude") {
    throw AttackError("attack 'sponge': objective must be 'density' or 'magnitude', got '" +
                      objective + "'");
  }
  if (sigma <= 0) throw AttackError("attack 'sponge': sigma must be > 0");
  if (norm == "linf") {
    return std::make_unique<LinfSignAttack>("sponge", eps, step, iterations, /*start_radius=*/eps,
                                            /*direction=*/+1.0, SpongeLoss(objective, sigma));
  }
  if (norm == "l2") {
    return std::make_unique<L2StepAttack>("sponge", eps, step, iterations, /*direction=*/+1.0,
                                          SpongeLoss(objective, sigma));
  }
  throw AttackError("attack 'sponge': norm must be 'linf' or 'l2', got '" + norm + "'");
}

}  // namespace effrobust
