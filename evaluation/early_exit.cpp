#include "evaluation/early_exit.h"

#include <cmath>

namespace effrobust {

std::vector<double> CandidateThresholds() {
  std::vector<double> qs;
  for (int i = 1; i <= 19; ++i) qs.push_back(i / 20.0);
  return qs;
}

int ExitIndex(const std::vector<double>& confidence, double q) {
  const int k = static_cast<int>(confidence.size());
  for (int i = 0; i + 1 < k; ++i) {
    if (confidence[i] >= q) return i;
  }
  return k - 1;
}

ThresholdChoice SelectThreshold(const ExitObservations& obs,
                                const std::vector<double>& relative_cost,
                                double rad) {
  const size_t n = obs.confidence.size();
  const int k = static_cast<int>(relative_cost.size());
  ThresholdChoice best;
  best.rad = rad;
  double full_correct = 0;
  for (size_t s = 0; s < n; ++s) full_correct += obs.correct[s][k - 1] ? 1 : 0;
  best.full_accuracy = full_correct / static_cast<double>(n);
  best.q = 1.0;
  best.accuracy = best.full_accuracy;
  best.mean_cost = 1.0;
  const double floor_accuracy = (1.0 - rad) * best.full_accuracy;
  for (double q : CandidateThresholds()) {
    double correct = 0, cost = 0;
    for (size_t s = 0; s < n; ++s) {
      int e = ExitIndex(obs.confidence[s], q);
      correct += obs.correct[s][e] ? 1 : 0;
      cost += relative_cost[e];
    }
    const double acc = correct / static_cast<double>(n);
    const double mean_cost = cost / static_cast<double>(n);
    if (acc > floor_accuracy && mean_cost <= best.mean_cost) {
      best.q = q;
      best.accuracy = acc;
      best.mean_cost = mean_cost;
    }
  }
  return best;
}

}  // namespace effrobust
