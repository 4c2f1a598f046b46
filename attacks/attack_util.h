// Helpers shared by the attack implementations (not part of the public
// Attack interface): parameter access with clear errors, input checks,
// per-sample random tensors, input gradients, batch-invariant execution, and
// the per-attack factories MakeAttack dispatches to. Uses torch.
#ifndef EFFROBUST_ATTACKS_ATTACK_UTIL_H_
#define EFFROBUST_ATTACKS_ATTACK_UTIL_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "common/value.h"
#include "models/victim.h"

namespace effrobust {
namespace attacks_internal {

// Parameter `key` of `attack` as a number / non-negative integer / string.
// Throws AttackError naming attack and key if missing or of the wrong type.
double RequireNumber(const ParamMap& params, const std::string& attack, const std::string& key);
int64_t RequireCount(const ParamMap& params, const std::string& attack, const std::string& key);
std::string RequireString(const ParamMap& params, const std::string& attack,
                          const std::string& key);

// Throws AttackError unless the victim is in eval mode, x is [B, C, H, W] in
// [0, 1], labels are [B] class indices and there is one seed per sample.
void CheckRunInputs(const std::string& attack, VictimModel& victim, const torch::Tensor& x,
                    const torch::Tensor& labels, const std::vector<uint64_t>& sample_seeds);

// Tensors shaped like `like` whose sample n is drawn from a generator seeded
// with seeds[n]: uniform in [lo, hi) / standard normal.
torch::Tensor PerSampleUniform(const torch::Tensor& like, const std::vector<uint64_t>& seeds,
                               double lo, double hi);
torch::Tensor PerSampleNormal(const torch::Tensor& like, const std::vector<uint64_t>& seeds);

// d loss_of(input) / d input, with gradients enabled locally; the model's
// parameters get no gradient.
torch::Tensor InputGradient(const torch::Tensor& input,
                            const std::function<torch::Tensor(const torch::Tensor&)>& loss_of);

// Throws AttackError unless victim.family() is `family` (what `attack`
// needs).
void RequireFamily(const std::string& attack, VictimModel& victim, const std::string& family);

// Runs `body` so that a sample's result does not depend on its batch size
// (a lone sample is attacked as two copies of itself; see attack.cpp).
using BatchAttack = std::function<torch::Tensor(
    const torch::Tensor& x, const torch::Tensor& labels, const std::vector<uint64_t>& seeds)>;
torch::Tensor RunBatchInvariant(const torch::Tensor& x, const torch::Tensor& labels,
                                const std::vector<uint64_t>& seeds, const BatchAttack& body);

// Loss of a batch (summed over samples) that an attack follows.
using AttackLoss = std::function<torch::Tensor(VictimModel& victim, const torch::Tensor& input,
                                               const torch::Tensor& labels)>;

// The L-inf signed-gradient loop shared by LinfSignAttack and adversarial
// training (models/adversarial_training.h): starts at x0 + start, then
// `iterations` steps x <- x + direction * step * sign(grad loss_of(x)),
// each projected onto the eps-ball around x0 and onto [0, 1]. Returns the
// detached result. REQUIRES: start shaped like x0. Throws AttackError if the
// loss is not finite (InputGradient).
torch::Tensor LinfSignSteps(const torch::Tensor& x0, const torch::Tensor& start, double eps,
                            double step, int64_t iterations, double direction,
                            const std::function<torch::Tensor(const torch::Tensor&)>& loss_of);

// The L-inf signed-gradient attack shared by PGD and DeepSloth-L-inf: random
// start uniform in [-start_radius, start_radius] per sample (own seed), then
// `iterations` steps x <- x + direction * step * sign(grad loss), projected
// onto the eps-ball around x and onto [0, 1]. direction = +1 ascends the loss
// (PGD), -1 descends it (DeepSloth). Batch-invariant (RunBatchInvariant).
class LinfSignAttack : public Attack {
 public:
  LinfSignAttack(std::string name, double eps, double step, int64_t iterations,
                 double start_radius, double direction, AttackLoss loss);
  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override;

 private:
  torch::Tensor Attack(VictimModel& victim, const torch::Tensor& x0, const torch::Tensor& labels,
                       const std::vector<uint64_t>& sample_seeds);
  std::string name_;
  double eps_, step_;
  int64_t iterations_;
  double start_radius_, direction_;
  AttackLoss loss_;
};

// The L2 normalised-gradient attack: `iterations` steps
// x <- x + direction * step * g / ||g||_2 (per sample), projected onto the
// L2 ball of radius eps around x and onto [0, 1]; starts at x. Batch-
// invariant (RunBatchInvariant); the loss must be a sum over samples.
class L2StepAttack : public Attack {
 public:
  L2StepAttack(std::string name, double eps, double step, int64_t iterations, double direction,
               AttackLoss loss);
  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override;

 private:
  std::string name_;
  double eps_, step_;
  int64_t iterations_;
  double direction_;
  AttackLoss loss_;
};

// Per-sample L2 norms of a [B, ...] tensor, shaped [B, 1, 1, 1].
torch::Tensor SampleNorms(const torch::Tensor& t);

}  // namespace attacks_internal

// Factories, one per attack file. Throw AttackError on bad parameters.
std::unique_ptr<Attack> MakeCleanAttack(const ParamMap& params);
std::unique_ptr<Attack> MakePgdAttack(const ParamMap& params);
std::unique_ptr<Attack> MakeDeepSlothAttack(const ParamMap& params);
std::unique_ptr<Attack> MakeDeepSlothUniversalAttack(const ParamMap& params);
std::unique_ptr<Attack> MakeSpongeAttack(const ParamMap& params);
std::unique_ptr<Attack> MakeIlfoAttack(const ParamMap& params);
std::unique_ptr<Attack> MakeGradMdmAttack(const ParamMap& params);
std::unique_ptr<Attack> MakeSlowFormerAttack(const ParamMap& params);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_ATTACK_UTIL_H_
