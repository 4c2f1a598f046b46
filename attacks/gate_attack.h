// The optimisation loop shared by the skip-gate attacks (ILFO, GradMDM):
// a perturbation delta, initialised at zero, updated by Adam on a gradient
// the attack supplies, and after every step projected onto the L-inf or L2
// ball of radius eps (per sample) and onto x + delta in [0, 1]. The loop
// keeps, per sample, the iterate that runs the most gated blocks (ties: the
// larger sum over gates of min(P(run), 0.5)), evaluated on the pass that
// computes the next gradient, so the result never runs fewer blocks than
// the clean input by the model's own count. Every operation is per sample
// (Adam is per element, losses are sums over samples), so a sample's result
// does not depend on its batch (RunBatchInvariant handles the lone-sample
// kernel difference). Uses torch.
#ifndef EFFROBUST_ATTACKS_GATE_ATTACK_H_
#define EFFROBUST_ATTACKS_GATE_ATTACK_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "attacks/attack.h"
#include "common/value.h"

namespace effrobust {
namespace attacks_internal {

struct GateBudget {
  std::string norm;  // "linf" or "l2"
  double eps = 0;
};

// Reads and checks norm / eps / iterations / lr of `attack`. Throws
// AttackError naming the attack on a bad value.
GateBudget RequireGateBudget(const ParamMap& params, const std::string& attack);

// delta projected onto the budget ball (per sample) and so that x0 + delta
// lies in [0, 1].
torch::Tensor ProjectDelta(const torch::Tensor& delta, const torch::Tensor& x0,
                           const GateBudget& budget);

class GateAttack : public Attack {
 public:
  GateAttack(std::string name, GateBudget budget, int64_t iterations, double lr);
  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override;

 protected:
  // Gradient (shaped like delta) that Adam descends at iteration `it`, for
  // the batch x0 + delta; sets *gates to the victim's gates ([B] each,
  // detached) on that input.
  virtual torch::Tensor Gradient(VictimModel& victim, const torch::Tensor& x0,
                                 const torch::Tensor& delta, int64_t it,
                                 std::vector<torch::Tensor>* gates) = 0;
  // Called before the first iteration of every batch (resets state).
  virtual void Reset() {}

  const std::string& name() const { return name_; }

 private:
  torch::Tensor Optimise(VictimModel& victim, const torch::Tensor& x0);
  std::string name_;
  GateBudget budget_;
  int64_t iterations_;
  double lr_;
};

}  // namespace attacks_internal
}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_GATE_ATTACK_H_
