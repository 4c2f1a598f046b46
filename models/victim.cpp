#include "models/victim.h"

#include "common/error.h"

namespace effrobust {

void VictimModel::SetExitCap(int64_t /*k*/) {
  throw ModelError("the exit cap applies to early-exit models only, not the " + family() +
                   " family");
}

std::vector<torch::Tensor> VictimModel::InternalExitLogits(const torch::Tensor& x) {
  std::vector<torch::Tensor> exits = Forward(x, false).exit_logits;
  if (exits.empty()) {
    throw ModelError("the " + family() + " family has no early exits (internal exit logits)");
  }
  exits.pop_back();
  return exits;
}

}  // namespace effrobust
