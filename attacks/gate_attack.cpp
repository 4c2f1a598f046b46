#include "attacks/gate_attack.h"

#include <cmath>

#include "attacks/attack_util.h"
#include "common/error.h"
#include "common/progress.h"

namespace effrobust {
namespace attacks_internal {

namespace {

constexpr double kBeta1 = 0.9;
constexpr double kBeta2 = 0.999;
constexpr double kAdamEps = 1e-8;

// Per-sample score: blocks run * (J + 1) + sum_j min(P_j, 0.5) ([B], double).
torch::Tensor GateScore(const std::vector<torch::Tensor>& gates) {
  const double j = static_cast<double>(gates.size());
  torch::Tensor g = torch::stack(gates, 1).to(torch::kFloat64);
  return (g > 0.5).to(torch::kFloat64).sum(1) * (j + 1) + g.clamp_max(0.5).sum(1);
}

}  // namespace

GateBudget RequireGateBudget(const ParamMap& params, const std::string& attack) {
  GateBudget b;
  b.norm = RequireString(params, attack, "norm");
  if (b.norm != "linf" && b.norm != "l2") {
    throw AttackError("attack '" + attack + "': norm must be 'linf' or 'l2', got '" + b.norm + "'");
  }
  b.eps = RequireNumber(params, attack, "eps");
  if (b.eps < 0) throw AttackError("attack '" + attack + "': eps must be >= 0");
  return b;
}

torch::Tensor ProjectDelta(const torch::Tensor& delta, const torch::Tensor& x0,
                           const GateBudget& budget) {
  torch::Tensor d;
  if (budget.norm == "linf") {
    d = delta.clamp(-budget.eps, budget.eps);
  } else {
    torch::Tensor norms = delta.flatten(1).norm(2, 1).view({-1, 1, 1, 1});
    torch::Tensor cap = torch::max(norms, torch::full({}, budget.eps, norms.options()));
    d = delta * (budget.eps / cap.clamp_min(1e-12));
  }
  // Box: clipping x0 + d to [0, 1] only shrinks |d| per element.
  return (x0 + d).clamp(0.0, 1.0) - x0;
}

GateAttack::GateAttack(std::string name, GateBudget budget, int64_t iterations, double lr)
    : name_(std::move(name)), budget_(budget), iterations_(iterations), lr_(lr) {}

torch::Tensor GateAttack::Run(VictimModel& victim, const torch::Tensor& x,
                              const torch::Tensor& labels,
                              const std::vector<uint64_t>& sample_seeds) {
  CheckRunInputs(name_, victim, x, labels, sample_seeds);
  RequireFamily(name_, victim, kFamilySkipGate);
  if (x.size(0) == 0) return x.clone();
  return RunBatchInvariant(x.detach().contiguous(), labels, sample_seeds,
                           [&](const torch::Tensor& xb, const torch::Tensor&,
                               const std::vector<uint64_t>&) { return Optimise(victim, xb); });
}

torch::Tensor GateAttack::Optimise(VictimModel& victim, const torch::Tensor& x0) {
  Reset();
  torch::Tensor delta = torch::zeros_like(x0);
  torch::Tensor m = torch::zeros_like(x0), v = torch::zeros_like(x0);
  torch::Tensor best = x0.clone();
  torch::Tensor best_score =
      torch::full({x0.size(0)}, -1.0, torch::dtype(torch::kFloat64).device(x0.device()));
  auto keep_best = [&](const std::vector<torch::Tensor>& gates) {
    torch::Tensor score = GateScore(gates);
    torch::Tensor better = score > best_score;
    best_score = torch::where(better, score, best_score);
    best = torch::where(better.view({-1, 1, 1, 1}), x0 + delta, best);
  };
  for (int64_t it = 0; it < iterations_; ++it) {
    ReportProgress();  // heartbeats while one batch runs long
    std::vector<torch::Tensor> gates;
    torch::Tensor g = Gradient(victim, x0, delta, it, &gates);
    torch::NoGradGuard no_grad;
    keep_best(gates);
    const double t = static_cast<double>(it + 1);
    m = kBeta1 * m + (1 - kBeta1) * g;
    v = kBeta2 * v + (1 - kBeta2) * g * g;
    const torch::Tensor m_hat = m / (1 - std::pow(kBeta1, t));
    const torch::Tensor v_hat = v / (1 - std::pow(kBeta2, t));
    delta = ProjectDelta(delta - lr_ * m_hat / (v_hat.sqrt() + kAdamEps), x0, budget_);
  }
  torch::NoGradGuard no_grad;
  keep_best(victim.Forward(x0 + delta).gates);
  return best.clamp(0.0, 1.0).detach();
}

}  // namespace attacks_internal
}  // namespace effrobust
