#include "evaluation/efficacy.h"

#include <stdexcept>
#include <string>

namespace effrobust {

double Efficacy(const std::vector<int64_t>& exits,
                const std::vector<double>& relative_cost) {
  if (exits.empty()) return 0.0;
  const size_t k = relative_cost.size();
  std::vector<double> counts(k, 0.0);
  for (int64_t e : exits) {
    if (e < 0 || static_cast<size_t>(e) >= k) {
      throw std::invalid_argument("exit index " + std::to_string(e) +
                                  " outside [0, " + std::to_string(k) + ")");
    }
    counts[e] += 1.0;
  }
  const double n = static_cast<double>(exits.size());
  double area = 0.0, prev_x = 0.0, prev_y = 0.0, cumulative = 0.0;
  for (size_t i = 0; i < k; ++i) {
    cumulative += counts[i];
    const double x = relative_cost[i];
    const double y = (i + 1 == k) ? 1.0 : cumulative / n;
    area += (x - prev_x) * (y + prev_y) / 2.0;
    prev_x = x;
    prev_y = y;
  }
  return area;
}

double RecoveredFlops(double flops_clean, double flops_adv, double flops_full) {
  const double saved = flops_full - flops_clean;
  if (saved <= 0) return 0.0;
  return (flops_adv - flops_clean) / saved;
}

}  // namespace effrobust
