// The Attack interface (torch): given a victim multi-exit model, clean
// inputs in [0, 1] and labels, produce adversarial inputs. One attack per
// file; MakeAttack builds one from its completed catalog parameters.
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
#include "models/multi_exit_cnn.h"

namespace effrobust {

class Attack {
 public:
  virtual ~Attack() = default;

  // Returns x_adv with the same shape as `x`, values in [0, 1], within the
  // attack's budget of x. `sample_seeds[n]` seeds sample n's random start,
  // so a sample's result does not depend on the batch it is in.
  // REQUIRES: model in eval mode; x [B, C, H, W]; labels [B];
  // sample_seeds.size() == B. Throws AttackError on invalid input.
  virtual torch::Tensor Run(MultiExitCnn& model, const torch::Tensor& x,
                            const torch::Tensor& labels,
                            const std::vector<uint64_t>& sample_seeds) = 0;
};

// Builds the attack `name` from parameters completed by
// CompleteAttackParams. Throws AttackError on an unknown name or missing
// parameter.
std::unique_ptr<Attack> MakeAttack(const std::string& name,
                                   const ParamMap& params);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_ATTACK_H_
