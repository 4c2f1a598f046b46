// DeepSloth's efficacy: the area under the early-exit curve (fraction of
// samples that have exited vs relative cost), trapezoid rule, in [0, 1].
// 1 = every sample exits at zero cost; a network that never exits early
// scores about 0. Pure functions, thread-safe.
#ifndef EFFROBUST_EVALUATION_EFFICACY_H_
#define EFFROBUST_EVALUATION_EFFICACY_H_

#include <cstdint>
#include <vector>

namespace effrobust {

// `exits[n]` is the exit index (0..K-1) sample n took; `relative_cost[i]`
// is exit i's cumulative cost over the full network's (last = 1). Curve
// points: (0,0), then (c_i, fraction exited at or before i) for each i, the
// last forced to 1. Returns 0 for no samples. Throws std::invalid_argument
// if an exit index is out of range.
double Efficacy(const std::vector<int64_t>& exits,
                const std::vector<double>& relative_cost);

// Share of the saved compute the attack recovers:
// (flops_adv - flops_clean) / (flops_full - flops_clean); 0 if nothing
// was saved.
double RecoveredFlops(double flops_clean, double flops_adv, double flops_full);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_EFFICACY_H_
