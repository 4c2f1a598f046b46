// The "clean" baseline: no perturbation.
#include "attacks/attack.h"
#include "attacks/attack_util.h"

#include "common/error.h"

namespace effrobust {

namespace {

class CleanAttack : public Attack {
 public:
  torch::Tensor Run(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override {
    attacks_internal::CheckRunInputs("clean", victim, x, labels, sample_seeds);
    return x.clone();
  }
};

}  // namespace

std::unique_ptr<Attack> MakeCleanAttack(const ParamMap& /*params*/) {
  return std::make_unique<CleanAttack>();
}

}  // namespace effrobust
