// The Attack interface (torch): given a victim dynamic model (any family,
// models/victim.h), clean inputs in [0, 1] and labels, produce adversarial
// inputs. One attack per file; MakeAttack builds one from its completed
// catalog parameters.
// Thread-safety: an Attack holds only its parameters; Run may be called
// from one thread at a time per model.
#ifndef EFFROBUST_ATTACKS_ATTACK_H_
#define EFFROBUST_ATTACKS_ATTACK_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/value.h"
#include "models/victim.h"

namespace effrobust {

class Attack {
 public:
  virtual ~Attack() = default;

  // Returns x_adv with the same shape as `x`, values in [0, 1], within the
  // attack's budget of x. `sample_seeds[n]` seeds sample n's random start,
  // so a sample's result does not depend on the batch it is in.
  // REQUIRES: model in eval mode; x [B, C, H, W]; labels [B];
  // sample_seeds.size() == B. Throws AttackError on invalid input.
  // Throws AttackError if the victim's family is not one the attack targets.
  virtual torch::Tensor Run(VictimModel& victim, const torch::Tensor& x,
                            const torch::Tensor& labels,
                            const std::vector<uint64_t>& sample_seeds) = 0;

  // Universal attacks craft one perturbation (or patch) for a whole
  // population: the executor calls Fit once, on fit_samples() training
  // images, with a seed derived from (experiment seed, model, attack,
  // parameters) -- so every unit of the attack, on any rank, applies the
  // same perturbation -- and Run then applies it. Per-sample attacks return
  // 0 from fit_samples() and never see Fit.
  virtual int64_t fit_samples() const { return 0; }
  virtual void Fit(VictimModel& /*victim*/, const torch::Tensor& /*x*/,
                   const torch::Tensor& /*labels*/, uint64_t /*seed*/) {}
};

// Builds the attack `name` from parameters completed by
// CompleteAttackParams. Throws AttackError on an unknown name or missing
// parameter.
std::unique_ptr<Attack> MakeAttack(const std::string& name,
                                   const ParamMap& params);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_ATTACK_H_
