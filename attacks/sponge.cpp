// Sponge examples (Shumailov et al., EuroS&P 2021; attacks.md section 5),
// white-box, for every D1 family: maximise the activation density of the
// victim within an L-inf or L2 budget, so that zero-skipping hardware pays
// for more non-zero activations (the energy model of
// evaluation/energy_model.h). Objective per sample, summed over samples:
// the mean over the victim's non-linearity outputs a_l
// (VictimOutputs::activations) of
//  * density (default): the differentiable l0 proxy of Cina et al.
//    (sponge poisoning), mean_j a_j^2 / (a_j^2 + sigma) per layer;
//  * magnitude: mean_j a_j^2 per layer (the sponge paper's white-box
//    objective, sum of squared activation norms, normalised per layer);
// plus path_weight times the share of the dynamic path executed, where the
// victim exposes it differentiably: the energy model charges only the
// layers that run, and a halted token or skipped block has no activations
// to densify (the sponge paper's fitness is the energy itself, which for
// NLP grows with the tokens processed). Path term: adaptive_token, the
// mean over tokens of (ponder cost - sum of the halting scores before the
// last block) / blocks, SlowFormer's objective (attacks/slowformer.cpp);
// skip_gate, the mean over gates of log P(run) (cross-entropy towards
// "run": unlike P(run) itself it does not saturate for a gate far off). Early-exit
// models have none here (their exit decision is DeepSloth's target), so
// for them the objective is density alone. The FLOPs meter shows whether
// the path moved.
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

// The dynamic path term per sample [B] (see the file comment), where the
// victim exposes its path differentiably; undefined otherwise.
torch::Tensor PathShare(const VictimOutputs& out) {
  if (out.ponder.defined() && out.halting.defined()) {
    const int64_t blocks = out.halting.size(1);
    torch::Tensor halted = out.halting.slice(1, 0, blocks - 1).sum(1);  // [B, T]
    return (out.ponder - halted).mean(1) / static_cast<double>(blocks);
  }
  if (!out.gates.empty()) return torch::stack(out.gates, 1).clamp_min(1e-12).log().mean(1);
  return torch::Tensor();
}

AttackLoss SpongeLoss(const std::string& objective, double sigma, double path_weight) {
  return [objective, sigma, path_weight](VictimModel& victim, const torch::Tensor& in,
                                         const torch::Tensor&) {
    VictimOutputs out = victim.Forward(in, /*keep_activations=*/true);
    if (out.activations.empty()) {
      throw AttackError("attack 'sponge': the " + victim.family() +
                        " model reports no activations to densify");
    }
    torch::Tensor per_sample = torch::zeros({in.size(0)}, in.options());
    for (const auto& a : out.activations) {
      torch::Tensor sq = a.flatten(1).pow(2);
      per_sample =
          per_sample + (objective == "magnitude" ? sq.mean(1) : (sq / (sq + sigma)).mean(1));
    }
    per_sample = per_sample / static_cast<double>(out.activations.size());
    if (path_weight > 0) {
      torch::Tensor path = PathShare(out);
      if (path.defined()) per_sample = per_sample + path_weight * path;
    }
    return per_sample.sum();
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
  const double path_weight = RequireNumber(params, "sponge", "path_weight");
  if (objective != "density" && objective != "magnitude") {
    throw AttackError("attack 'sponge': objective must be 'density' or 'magnitude', got '" +
                      objective + "'");
  }
  if (sigma <= 0) throw AttackError("attack 'sponge': sigma must be > 0");
  if (norm == "linf") {
    return std::make_unique<LinfSignAttack>("sponge", eps, step, iterations, /*start_radius=*/eps,
                                            /*direction=*/+1.0,
                                            SpongeLoss(objective, sigma, path_weight));
  }
  if (norm == "l2") {
    return std::make_unique<L2StepAttack>("sponge", eps, step, iterations, /*direction=*/+1.0,
                                          SpongeLoss(objective, sigma, path_weight));
  }
  throw AttackError("attack 'sponge': norm must be 'linf' or 'l2', got '" + norm + "'");
}

}  // namespace effrobust
