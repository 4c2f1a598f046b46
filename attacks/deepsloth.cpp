// DeepSloth (Hong et al., ICLR 2021), per-sample variants (attacks.md §1).
// Loss: for every internal exit (all but the final one), the cross-entropy of
// its softmax against the uniform distribution,
//   L(x) = sum_{i < K-1} -(1/C) sum_c log(softmax(f_i(x))_c + 1e-9),
// minimised so that no internal classifier becomes confident.
//  * linf: random start uniform in [-step, step], sign-gradient descent with
//    `step`, delta clipped to [-eps, eps] and x + delta to [0, 1].
//  * l2: delta starts as a Gaussian direction of L2 norm `eps`; SGD on delta
//    with lr cosine-annealed from `lr` to `lr_min` over the iterations; each
//    sample's gradient is rescaled to L2 norm <= 1; delta is projected onto
//    the L2 ball of the current radius, which starts at `eps` and is
//    multiplied by (1 - gamma) every `decay_every` iterations; the model sees
//    clamp(x + delta, 0, 1).
// Deviation from the reference code, for batch independence: the loss is
// summed (not averaged) over the batch, so each sample's gradient -- and the
// L2 variant's per-sample gradient clipping -- does not depend on the batch
// size. (For the L-inf variant the sign makes this immaterial.)
#include "attacks/deepsloth.h"

#include "attacks/attack.h"
#include "attacks/attack_util.h"

#include <cmath>
#include <functional>

#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

namespace {

// The DeepSloth loss over the first `count` entries of `exit_logits`.
torch::Tensor UniformCrossEntropy(const std::vector<torch::Tensor>& exit_logits, size_t count) {
  torch::Tensor loss = torch::zeros({}, exit_logits.at(0).options());
  for (size_t i = 0; i < count; ++i) {
    auto logp = torch::log(torch::softmax(exit_logits[i], 1) + 1e-9);
    loss = loss - logp.mean(1).sum();
  }
  return loss;
}

}  // namespace

torch::Tensor DeepSlothLoss(const std::vector<torch::Tensor>& exit_logits) {
  return UniformCrossEntropy(exit_logits, exit_logits.empty() ? 0 : exit_logits.size() - 1);
}

namespace {

using namespace attacks_internal;

// Sum over samples of the DeepSloth loss (see top of file). The final exit
// is not in the loss, so its block and head are not run (issue 8).
torch::Tensor UniformCrossEntropyOverInternalExits(VictimModel& victim, const torch::Tensor& in) {
  RequireFamily("deepsloth", victim, kFamilyEarlyExit);
  const std::vector<torch::Tensor> internal = victim.InternalExitLogits(in);
  if (internal.empty()) {
    throw AttackError("deepsloth needs a model with at least two exits (one internal)");
  }
  return UniformCrossEntropy(internal, internal.size());
}

class DeepSlothL2 : public Attack {
 public:
  DeepSlothL2(double eps, double gamma, int64_t decay_every, int64_t iterations, double lr,
              double lr_min)
      : eps_(eps),
        gamma_(gamma),
        decay_every_(decay_every),
        iterations_(iterations),
        lr_(lr),
        lr_min_(lr_min) {}

  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override {
    CheckRunInputs("deepsloth", victim, x, labels, sample_seeds);
    if (x.size(0) == 0) return x.clone();
    return RunBatchInvariant(
        x.detach().contiguous(), labels, sample_seeds,
        [&](const torch::Tensor& xb, const torch::Tensor& yb, const std::vector<uint64_t>& sb) {
          return Attack(victim, xb, yb, sb);
        });
  }

 private:
  torch::Tensor Attack(VictimModel& victim, const torch::Tensor& x0, const torch::Tensor& labels,
                       const std::vector<uint64_t>& sample_seeds) {
    torch::Tensor delta = PerSampleNormal(x0, sample_seeds);
    delta = delta * (eps_ / SampleNorms(delta).clamp_min(1e-12));
    double radius = eps_;
    auto loss_of = [&](const torch::Tensor& d) {
      return UniformCrossEntropyOverInternalExits(victim, (x0 + d).clamp(0.0, 1.0));
    };
    const double pi = std::acos(-1.0);
    for (int64_t it = 0; it < iterations_; ++it) {
      ReportProgress();  // heartbeats while one batch runs long
      if (it > 0 && decay_every_ > 0 && it % decay_every_ == 0) radius *= (1.0 - gamma_);
      const double lr =
          lr_min_ + 0.5 * (lr_ - lr_min_) *
                        (1.0 + std::cos(pi * static_cast<double>(it) /
                                        static_cast<double>(iterations_)));
      torch::Tensor g = InputGradient(delta, loss_of);
      torch::NoGradGuard no_grad;
      g = g / SampleNorms(g).clamp_min(1.0);  // clip each sample's gradient to norm <= 1
      delta = delta - lr * g;
      delta = delta * (radius / torch::max(SampleNorms(delta), torch::full({}, radius)));
    }
    return (x0 + delta).clamp(0.0, 1.0).detach();
  }

  double eps_;
  double gamma_;
  int64_t decay_every_;
  int64_t iterations_;
  double lr_;
  double lr_min_;
};

// Universal L-inf DeepSloth (attacks.md section 1.3, "L-inf universal"):
// one perturbation delta [C, H, W], started uniform in [-eps, eps] from the
// Fit seed, then `iterations` sign-gradient descent steps of `step` on the
// DeepSloth loss summed over the fitting images, clipped to [-eps, eps];
// Run returns clamp(x + delta, 0, 1) for every sample.
class DeepSlothUniversal : public Attack {
 public:
  DeepSlothUniversal(double eps, double step, int64_t iterations, int64_t fit_samples)
      : eps_(eps), step_(step), iterations_(iterations), fit_samples_(fit_samples) {}

  int64_t fit_samples() const override { return fit_samples_; }

  void Fit(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
           uint64_t seed) override {
    CheckRunInputs("deepsloth_universal", victim, x, labels,
                   std::vector<uint64_t>(static_cast<size_t>(x.size(0)), seed));
    RequireFamily("deepsloth_universal", victim, kFamilyEarlyExit);
    torch::Tensor x0 = x.detach().contiguous();
    delta_ = PerSampleUniform(x0.slice(0, 0, 1), {seed}, -eps_, eps_)[0];
    auto loss_of = [&](const torch::Tensor& d) {
      return UniformCrossEntropyOverInternalExits(victim, (x0 + d.unsqueeze(0)).clamp(0.0, 1.0));
    };
    for (int64_t it = 0; it < iterations_; ++it) {
      ReportProgress();  // heartbeats while one batch runs long
      torch::Tensor g = InputGradient(delta_, loss_of);
      torch::NoGradGuard no_grad;
      delta_ = (delta_ - step_ * g.sign()).clamp(-eps_, eps_);
    }
    delta_ = delta_.detach();
  }

  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override {
    CheckRunInputs("deepsloth_universal", victim, x, labels, sample_seeds);
    RequireFamily("deepsloth_universal", victim, kFamilyEarlyExit);
    if (!delta_.defined()) {
      throw AttackError("attack 'deepsloth_universal': Run before Fit (the perturbation is "
                        "fitted on training images first)");
    }
    torch::NoGradGuard no_grad;
    return (x.detach() + delta_.unsqueeze(0)).clamp(0.0, 1.0);
  }

 private:
  double eps_, step_;
  int64_t iterations_, fit_samples_;
  torch::Tensor delta_;
};

}  // namespace

std::unique_ptr<Attack> MakeDeepSlothUniversalAttack(const ParamMap& params) {
  const double eps = RequireNumber(params, "deepsloth_universal", "eps");
  const double step = RequireNumber(params, "deepsloth_universal", "step");
  const int64_t iterations = RequireCount(params, "deepsloth_universal", "iterations");
  const int64_t fit = RequireCount(params, "deepsloth_universal", "fit_samples");
  if (fit < 1) throw AttackError("attack 'deepsloth_universal': fit_samples must be >= 1");
  return std::make_unique<DeepSlothUniversal>(eps, step, iterations, fit);
}

std::unique_ptr<Attack> MakeDeepSlothAttack(const ParamMap& params) {
  const std::string norm = RequireString(params, "deepsloth", "norm");
  if (norm == "linf") {
    const double eps = RequireNumber(params, "deepsloth", "eps");
    const double step = RequireNumber(params, "deepsloth", "step");
    const int64_t iterations = RequireCount(params, "deepsloth", "iterations");
    if (eps < 0 || step < 0) throw AttackError("attack 'deepsloth': eps and step must be >= 0");
    return std::make_unique<LinfSignAttack>(
        "deepsloth", eps, step, iterations, /*start_radius=*/step, /*direction=*/-1.0,
        [](VictimModel& victim, const torch::Tensor& in, const torch::Tensor&) {
          return UniformCrossEntropyOverInternalExits(victim, in);
        });
  }
  if (norm == "l2") {
    const double eps = RequireNumber(params, "deepsloth", "eps");
    const double gamma = RequireNumber(params, "deepsloth", "gamma");
    const int64_t decay_every = RequireCount(params, "deepsloth", "decay_every");
    const int64_t iterations = RequireCount(params, "deepsloth", "iterations");
    const double lr = RequireNumber(params, "deepsloth", "lr");
    const double lr_min = RequireNumber(params, "deepsloth", "lr_min");
    if (eps < 0 || gamma < 0 || gamma > 1 || lr < 0 || lr_min < 0) {
      throw AttackError("attack 'deepsloth' (l2): need eps >= 0, 0 <= gamma <= 1, lr >= 0, "
                        "lr_min >= 0");
    }
    return std::make_unique<DeepSlothL2>(eps, gamma, decay_every, iterations, lr, lr_min);
  }
  throw AttackError("attack 'deepsloth': norm must be 'linf' or 'l2', got '" + norm + "'");
}

}  // namespace effrobust
