#include "evaluation/energy_model.h"

namespace effrobust {

double EnergyOptimisedPj(const LayerCounts& c) {
  const double param_ratio = c.params > 0 ? c.nonzero_params / c.params : 1.0;
  const double in_ratio = c.in_total > 0 ? c.in_nonzero / c.in_total : 1.0;
  return kEnergyAccessPj * (c.nonzero_params + c.in_nonzero + c.out_nonzero) +
         kEnergyMacPj * c.macs * param_ratio * in_ratio;
}

double EnergyWorstPj(const LayerCounts& c) {
  return kEnergyAccessPj * (c.params + c.in_total + c.out_total) + kEnergyMacPj * c.macs;
}

}  // namespace effrobust
