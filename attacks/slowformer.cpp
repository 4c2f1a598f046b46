// SlowFormer (Navaneet et al., CVPR 2024; attacks.md 4): an adversarial
// patch that keeps an adaptive-token ViT's tokens from halting.
//  * Patch: a square of side round(sqrt(area * H * W)) pixels (clamped to
//    [1, min(H, W)]) at `position` (top_left as in the reference code,
//    center, or bottom_right), replacing the image there. Values clipped
//    to [0, 1] and quantised to 1/255 (straight-through in the forward
//    passes while fitting; the returned images hold the quantised patch).
//  * Loss, minimised: -mean over tokens of the ponder cost rho_k +
//    halt_weight * mean over tokens of the sum of the token's halting
//    scores before the last block + alpha * KL(prior || halting
//    distribution over blocks), the prior a
//    Gaussian centred on the last block (A-ViT's distribution prior with
//    the target moved to full depth). The reference scales the ponder term
//    by 0.0005 and the KL by 0.001; here the ponder term has weight 1 and
//    alpha is relative to it. The halting-score term is ours: rho_k passes
//    no gradient through the score that makes a token halt (only through
//    the remainder of the earlier ones), so with the ponder term alone the
//    patch stalls well below full depth.
//  * mode universal: one patch for every input, fitted by Fit() on
//    fit_samples training images with Adam (lr, `epochs` passes over them
//    in minibatches of `batch`, order and initial patch drawn from Fit's
//    seed); Run pastes it. The reference uses AdamW with weight decay 0,
//    which is Adam.
//  * mode per_sample: each sample's own patch (same area and position),
//    random start from its seed, `iterations` sign-gradient steps of
//    `step` on the per-sample-summed loss (KL per sample), batch-invariant.
#include <cmath>
#include <random>

#include "attacks/attack.h"
#include "attacks/attack_util.h"
#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

namespace {

using namespace attacks_internal;

constexpr const char* kName = "slowformer";

// Per-sample KL(prior || halting distribution over blocks), prior a
// Gaussian (std 1) over block indices centred on the last block. [B].
torch::Tensor PriorKlPerSample(const torch::Tensor& halting) {
  const int64_t L = halting.size(1);
  std::vector<float> prior(L);
  double total = 0;
  for (int64_t l = 0; l < L; ++l) {
    const double z = static_cast<double>(l + 1 - L);
    prior[l] = static_cast<float>(std::exp(-0.5 * z * z));
    total += prior[l];
  }
  for (auto& p : prior) p = static_cast<float>(p / total);
  torch::Tensor target = torch::tensor(prior).to(halting.device()).view({1, L});
  torch::Tensor dist = halting.mean(2);
  dist = dist / dist.sum(1, true).clamp_min(1e-12);
  return (target * (torch::log(target + 1e-10) - torch::log(dist + 1e-10))).sum(1);
}

// Per-sample loss [B]: -mean_k rho_k + halt_weight * mean_k (sum of the
// token's halting scores before the last block) + alpha * KL.
torch::Tensor SampleLoss(VictimModel& victim, const torch::Tensor& x, double halt_weight,
                         double alpha) {
  VictimOutputs out = victim.Forward(x);
  torch::Tensor loss = -out.ponder.mean(1);
  const int64_t L = out.halting.size(1);
  if (halt_weight > 0 && L > 1) {
    loss = loss + halt_weight * out.halting.slice(1, 0, L - 1).sum(1).mean(1);
  }
  if (alpha > 0) loss = loss + alpha * PriorKlPerSample(out.halting);
  return loss;
}

// Rounds to 1/255 in the forward pass, identity in the backward pass.
torch::Tensor Quantise(const torch::Tensor& p) {
  torch::Tensor c = p.clamp(0.0, 1.0);
  return c + (torch::round(c * 255.0) / 255.0 - c).detach();
}

class SlowFormer : public Attack {
 public:
  struct Options {
    bool universal = true;
    double area = 0.08;
    std::string position = "top_left";
    int64_t fit_samples = 512, epochs = 10, batch = 64, iterations = 50;
    double lr = 0.05, step = 0.05, alpha = 0, halt_weight = 1;
  };
  explicit SlowFormer(Options o) : o_(std::move(o)) {}

  int64_t fit_samples() const override { return o_.universal ? o_.fit_samples : 0; }

  void Fit(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
           uint64_t seed) override {
    RequireFamily(kName, victim, kFamilyAdaptiveToken);
    if (!o_.universal) return;
    CheckRunInputs(kName, victim, x, labels, std::vector<uint64_t>(x.size(0), seed));
    if (x.size(0) == 0) throw AttackError("slowformer: Fit needs at least one image");
    Geometry(x);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    // Drawn on the CPU generator (same patch on every device), then moved.
    torch::Tensor patch =
        torch::rand({x.size(1), side_, side_}, gen, torch::kFloat32).to(x.device());
    patch.set_requires_grad(true);
    torch::optim::Adam opt({patch}, torch::optim::AdamOptions(o_.lr));
    std::mt19937_64 rng(seed);
    const int64_t n = x.size(0);
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    for (int64_t e = 0; e < o_.epochs; ++e) {
      ReportProgress();  // heartbeats while one batch runs long
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
      const torch::Tensor perm = torch::tensor(order, torch::kInt64).to(x.device());
      for (int64_t b = 0; b < n; b += o_.batch) {
        torch::Tensor xb = x.index_select(0, perm.slice(0, b, std::min(n, b + o_.batch)));
        torch::AutoGradMode grad_on(true);
        opt.zero_grad();
        torch::Tensor loss =
            SampleLoss(victim, Paste(xb, Quantise(patch).unsqueeze(0)), o_.halt_weight, o_.alpha)
                .mean();
        if (!torch::isfinite(loss).item<bool>()) {
          throw AttackError("slowformer: the fitting loss is not finite");
        }
        patch.mutable_grad() = torch::autograd::grad({loss}, {patch})[0];
        opt.step();
        torch::NoGradGuard no_grad;
        patch.clamp_(0.0, 1.0);
      }
    }
    torch::NoGradGuard no_grad;
    patch_ = torch::round(patch.detach().clamp(0.0, 1.0) * 255.0) / 255.0;
  }

  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override {
    RequireFamily(kName, victim, kFamilyAdaptiveToken);
    CheckRunInputs(kName, victim, x, labels, sample_seeds);
    if (o_.universal) {
      if (!patch_.defined()) throw AttackError("slowformer (universal): Run before Fit");
      if (patch_.size(0) != x.size(1) || x.size(2) != height_ || x.size(3) != width_) {
        throw AttackError("slowformer: the patch was fitted on images of another shape");
      }
      torch::NoGradGuard no_grad;
      return Paste(x.detach(), patch_.to(x.device()).unsqueeze(0));
    }
    if (x.size(0) == 0) return x.clone();
    Geometry(x);
    return RunBatchInvariant(
        x.detach().contiguous(), labels, sample_seeds,
        [&](const torch::Tensor& xb, const torch::Tensor&, const std::vector<uint64_t>& sb) {
          return PerSample(victim, xb, sb);
        });
  }

  // The fitted universal patch [C, side, side] (undefined before Fit).
  const torch::Tensor& patch() const { return patch_; }

 private:
  void Geometry(const torch::Tensor& x) {
    height_ = x.size(2);
    width_ = x.size(3);
    const double s = std::round(std::sqrt(o_.area * static_cast<double>(height_ * width_)));
    side_ =
        std::max<int64_t>(1, std::min<int64_t>(static_cast<int64_t>(s), std::min(height_, width_)));
    if (o_.position == "center") {
      top_ = (height_ - side_) / 2;
      left_ = (width_ - side_) / 2;
    } else if (o_.position == "bottom_right") {
      top_ = height_ - side_;
      left_ = width_ - side_;
    } else {
      top_ = left_ = 0;
    }
  }

  // x with the patch ([1 or B, C, side, side]) in place of its square.
  torch::Tensor Paste(const torch::Tensor& x, const torch::Tensor& patch) const {
    using torch::indexing::Slice;
    torch::Tensor mask = torch::zeros({1, 1, height_, width_}, x.options());
    mask.index_put_({Slice(), Slice(), Slice(top_, top_ + side_), Slice(left_, left_ + side_)},
                    1.0);
    torch::Tensor full = torch::constant_pad_nd(
        patch, {left_, width_ - left_ - side_, top_, height_ - top_ - side_}, 0.0);
    return x * (1 - mask) + full * mask;
  }

  torch::Tensor PerSample(VictimModel& victim, const torch::Tensor& x,
                          const std::vector<uint64_t>& seeds) {
    torch::Tensor p =
        PerSampleUniform(torch::zeros({x.size(0), x.size(1), side_, side_}, x.options()), seeds,
                         0.0, 1.0);
    auto loss_of = [&](const torch::Tensor& q) {
      return SampleLoss(victim, Paste(x, q), o_.halt_weight, o_.alpha).sum();
    };
    for (int64_t it = 0; it < o_.iterations; ++it) {
      ReportProgress();  // heartbeats while one batch runs long
      torch::Tensor g = InputGradient(p, loss_of);
      torch::NoGradGuard no_grad;
      p = (p - o_.step * g.sign()).clamp(0.0, 1.0);
    }
    torch::NoGradGuard no_grad;
    return Paste(x, torch::round(p * 255.0) / 255.0).detach();
  }

  Options o_;
  torch::Tensor patch_;
  int64_t height_ = 0, width_ = 0, side_ = 0, top_ = 0, left_ = 0;
};

}  // namespace

std::unique_ptr<Attack> MakeSlowFormerAttack(const ParamMap& params) {
  SlowFormer::Options o;
  const std::string mode = RequireString(params, kName, "mode");
  if (mode != "universal" && mode != "per_sample") {
    throw AttackError("attack 'slowformer': mode must be 'universal' or 'per_sample', got '" +
                      mode + "'");
  }
  o.universal = mode == "universal";
  o.area = RequireNumber(params, kName, "area");
  o.position = RequireString(params, kName, "position");
  if (o.position != "top_left" && o.position != "center" && o.position != "bottom_right") {
    throw AttackError("attack 'slowformer': position must be top_left, center or bottom_right");
  }
  o.fit_samples = RequireCount(params, kName, "fit_samples");
  o.epochs = RequireCount(params, kName, "epochs");
  o.batch = RequireCount(params, kName, "batch");
  o.lr = RequireNumber(params, kName, "lr");
  o.alpha = RequireNumber(params, kName, "alpha");
  o.halt_weight = RequireNumber(params, kName, "halt_weight");
  o.iterations = RequireCount(params, kName, "iterations");
  o.step = RequireNumber(params, kName, "step");
  if (o.area <= 0 || o.area > 1 || o.batch < 1 || o.lr < 0 || o.alpha < 0 || o.halt_weight < 0 ||
      o.step < 0 || (o.universal && o.fit_samples < 1)) {
    throw AttackError(
        "attack 'slowformer': need 0 < area <= 1, batch >= 1, lr, alpha, step >= 0 "
        "and fit_samples >= 1 in universal mode");
  }
  return std::make_unique<SlowFormer>(std::move(o));
}

}  // namespace effrobust
