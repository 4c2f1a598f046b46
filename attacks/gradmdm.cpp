// GradMDM (Pan et al., TPAMI 2023), for skip-gate victims (attacks.md §3),
// on the perturbation delta (zero start, Adam, projection onto the YAML
// L-inf/L2 budget and the [0, 1] box after every step; see gate_attack.h)
// instead of the reference code's tanh box parametrisation and penalty-only
// budget.
//
// Loss of sample b (the batch loss is the sum over samples), g_j = P(run):
//   L_neg = -|| min(g, 0.5) ||_p   (p = `p`, 3.5; p = 1 for the first
//           `warmup` iterations), which pulls off gates up, the ones closest
//           to 0.5 most; gates already on contribute nothing. (The
//           reference code's L_pos is computed but unused there, and here.)
//   D     = ||delta||_2^2.
// Bookkeeping per iteration, all per sample b:
//   1. one forward pass; for every gate j its input gradient
//      G_j = d g_j / d delta (one backward pass per gate) and the loss
//      weight w_j = dL_neg/dg_j = -(min(g_j, .5) / ||min(g, .5)||_p)^(p-1)
//      for g_j < 0.5, else 0;
//   2. warm-up iterations (it < warmup): gradient = w . G (plain
//      dL_neg/d delta, no manipulation);
//   3. magnitude: every gate's contribution is normalised, U_j =
//      G_j / ||G_j||_2, and weighted by its share of the p-norm weights,
//      gradient = sum_j (w_j / sum_k |w_k|) U_j, so a deep gate whose raw
//      gradient is tiny (saturated sigmoid, long path) is pulled as hard as
//      a shallow one, with the p-norm deciding the priority;
//   4. total = beta * gradient + gamma * dD/d delta;
//   5. direction: the update direction s = -total is made not to oppose
//      any gate that is already on (g_j >= 0.5): for each such gate, in
//      block order, with R_j = U_j recorded at the previous iteration, if
//      <s, R_j> < 0 the component along R_j is removed (s -= <s, R_j> R_j),
//      so turning more gates on (or shrinking delta) does not push the
//      active ones back off (first order). Skipped during warm-up;
//   6. R_j <- U_j for every gate; Adam descends -s.
// Deterministic (no random start); per-sample throughout, so batch-invariant.
#include <cmath>

#include "attacks/attack.h"
#include "attacks/attack_util.h"
#include "attacks/gate_attack.h"
#include "common/error.h"

namespace effrobust {

namespace {

using namespace attacks_internal;

// Per-sample inner product of two [B, ...] tensors, shaped [B, 1, 1, 1].
torch::Tensor Dot(const torch::Tensor& a, const torch::Tensor& b) {
  return (a * b).flatten(1).sum(1).view({-1, 1, 1, 1});
}

class GradMdm : public GateAttack {
 public:
  GradMdm(GateBudget budget, int64_t iterations, double lr, double p, int64_t warmup, double beta,
          double gamma)
      : GateAttack("gradmdm", budget, iterations, lr),
        p_(p),
        warmup_(warmup),
        beta_(beta),
        gamma_(gamma) {}

 protected:
  void Reset() override { recorded_.clear(); }

  torch::Tensor Gradient(VictimModel& victim, const torch::Tensor& x0, const torch::Tensor& delta,
                         int64_t it, std::vector<torch::Tensor>* gates) override {
    torch::AutoGradMode grad_on(true);
    torch::Tensor leaf = delta.detach().requires_grad_(true);
    std::vector<torch::Tensor> g = victim.Forward(x0 + leaf).gates;
    const size_t k = g.size();
    gates->clear();
    for (const auto& gj : g) gates->push_back(gj.detach());
    if (k == 0) throw AttackError("gradmdm: the victim reports no gates");
    torch::NoGradGuard no_grad;
    const bool warm = it < warmup_;
    const double p = warm ? 1.0 : p_;
    // 1. Loss weights w [B, K].
    torch::Tensor gs = torch::stack(*gates, 1).to(torch::kFloat64);
    torch::Tensor off = (gs < 0.5).to(torch::kFloat64);
    torch::Tensor gc = gs.clamp_max(0.5);
    torch::Tensor norm = gc.pow(p).sum(1, true).pow(1.0 / p).clamp_min(1e-30);
    torch::Tensor w = (-(gc / norm).pow(p - 1) * off).to(torch::kFloat32);
    torch::Tensor wsum = w.abs().sum(1).clamp_min(1e-12);
    // Per-gate input gradients.
    std::vector<torch::Tensor> unit(k);
    torch::Tensor gate_grad = torch::zeros_like(delta);
    for (size_t j = 0; j < k; ++j) {
      torch::Tensor gj;
      {
        torch::AutoGradMode on(true);
        gj = torch::autograd::grad({g[j].sum()}, {leaf}, {}, /*retain_graph=*/j + 1 < k)[0];
      }
      unit[j] = gj / gj.flatten(1).norm(2, 1).view({-1, 1, 1, 1}).clamp_min(1e-30);
      const torch::Tensor wj = w.select(1, static_cast<int64_t>(j)).view({-1, 1, 1, 1});
      if (warm) {
        gate_grad += wj * gj;  // 2. plain dL_neg / d delta
      } else {
        gate_grad += (wj / wsum.view({-1, 1, 1, 1})) * unit[j];  // 3. magnitude
      }
    }
    torch::Tensor total = beta_ * gate_grad + gamma_ * 2 * delta;  // 4.
    if (!warm && recorded_.size() == k) {                          // 5. direction
      torch::Tensor s = -total;
      for (size_t j = 0; j < k; ++j) {
        const torch::Tensor on =
            (gs.select(1, static_cast<int64_t>(j)) >= 0.5).to(torch::kFloat32).view({-1, 1, 1, 1});
        const torch::Tensor proj = Dot(s, recorded_[j]);
        s = s - on * proj.clamp_max(0.0) * recorded_[j];
      }
      total = -s;
    }
    recorded_ = unit;  // 6.
    if (!torch::isfinite(total).all().item<bool>()) {
      throw AttackError(
          "gradmdm: the gradient is not finite; the input or the attack "
          "parameters make it undefined");
    }
    return total;
  }

 private:
  double p_;
  int64_t warmup_;
  double beta_;
  double gamma_;
  std::vector<torch::Tensor> recorded_;  // R_j per gate, [B, C, H, W]
};

}  // namespace

std::unique_ptr<Attack> MakeGradMdmAttack(const ParamMap& params) {
  const GateBudget budget = RequireGateBudget(params, "gradmdm");
  const int64_t iterations = RequireCount(params, "gradmdm", "iterations");
  const double lr = RequireNumber(params, "gradmdm", "lr");
  const double p = RequireNumber(params, "gradmdm", "p");
  const int64_t warmup = RequireCount(params, "gradmdm", "warmup");
  const double beta = RequireNumber(params, "gradmdm", "beta");
  const double gamma = RequireNumber(params, "gradmdm", "gamma");
  if (lr <= 0 || p < 1 || beta <= 0 || gamma < 0) {
    throw AttackError("attack 'gradmdm': need lr > 0, p >= 1, beta > 0 and gamma >= 0 (got lr " +
                      FormatNumber(lr) + ", p " + FormatNumber(p) + ", beta " + FormatNumber(beta) +
                      ", gamma " + FormatNumber(gamma) + ")");
  }
  return std::make_unique<GradMdm>(budget, iterations, lr, p, warmup, beta, gamma);
}

}  // namespace effrobust
