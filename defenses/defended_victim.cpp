#include "defenses/defended_victim.h"

#include "defenses/torch_transforms.h"

namespace effrobust {

VictimOutputs DefendedVictim::Forward(const torch::Tensor& x, bool keep_activations) {
  return inner_.Forward(BpdaTransform(*transform_, x), keep_activations);
}

DynamicResult DefendedVictim::Measure(const torch::Tensor& x, const std::string& point) {
  return inner_.Measure(ApplyTransform(*transform_, x), point);
}

void DefendedVictim::InferOne(const torch::Tensor& x, const std::string& point) {
  inner_.InferOne(ApplyTransform(*transform_, x), point);
}

}  // namespace effrobust
