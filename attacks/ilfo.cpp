// ILFO (Haque et al., CVPR 2020), for skip-gate victims (attacks.md §2).
// Carlini-Wagner style objective per sample, summed over the batch:
//   L(delta) = ||delta||_2^2 + c * sum_j max(0, 0.5 + kappa - g_j(x + delta)),
// g_j = P(run) of gated block j: the reference re-implementation's hinge
// (attacks.md §2.2) with a margin kappa pushes every gate above 0.5 + kappa
// ("execute"); gates above the margin contribute nothing. (A log-barrier
// hinge, max(0, log(0.5 + kappa) - log g_j), recovered the same share of
// FLOPs on the trained Fashion-MNIST SkipNet.) delta starts at zero and is
// optimised with Adam (lr), projected after every step onto the YAML budget
// (L-inf or L2 ball of radius eps) and onto x + delta in [0, 1]; the
// iterate running the most blocks is returned (attacks/gate_attack.h).
// Unlike the reference re-implementation (attacks.md §2.3) gradients are
// fresh every step, the model stays in eval mode, the box and the budget
// are enforced during the optimisation, and the L-inf budget clips delta to
// [-eps, eps]. Deterministic (no random start).

#include "attacks/attack.h"
#include "attacks/attack_util.h"
#include "attacks/gate_attack.h"
#include "common/error.h"

namespace effrobust {

namespace {

using namespace attacks_internal;

class Ilfo : public GateAttack {
 public:
  Ilfo(GateBudget budget, int64_t iterations, double lr, double c, double kappa)
      : GateAttack("ilfo", budget, iterations, lr), c_(c), target_(0.5 + kappa) {}

 protected:
  torch::Tensor Gradient(VictimModel& victim, const torch::Tensor& x0, const torch::Tensor& delta,
                         int64_t /*it*/, std::vector<torch::Tensor>* gates) override {
    return InputGradient(delta, [&](const torch::Tensor& d) {
      auto out = victim.Forward(x0 + d);
      gates->clear();
      torch::Tensor gate_loss = torch::zeros({}, d.options());
      for (const auto& g : out.gates) {
        gates->push_back(g.detach());
        gate_loss = gate_loss + torch::relu(target_ - g).sum();
      }
      return d.pow(2).sum() + c_ * gate_loss;
    });
  }

 private:
  double c_;
  double target_;
};

}  // namespace

std::unique_ptr<Attack> MakeIlfoAttack(const ParamMap& params) {
  const GateBudget budget = RequireGateBudget(params, "ilfo");
  const int64_t iterations = RequireCount(params, "ilfo", "iterations");
  const double lr = RequireNumber(params, "ilfo", "lr");
  const double c = RequireNumber(params, "ilfo", "c");
  const double kappa = RequireNumber(params, "ilfo", "kappa");
  if (lr <= 0 || c < 0 || kappa < 0 || kappa >= 0.5) {
    throw AttackError("attack 'ilfo': need lr > 0, c >= 0 and 0 <= kappa < 0.5 (got lr " +
                      FormatNumber(lr) + ", c " + FormatNumber(c) + ", kappa " +
                      FormatNumber(kappa) + ")");
  }
  return std::make_unique<Ilfo>(budget, iterations, lr, c, kappa);
}

}  // namespace effrobust
