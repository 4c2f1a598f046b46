// The early-exit rule and per-model threshold selection (Shallow-Deep
// Network style, as DeepSloth evaluates it). Pure functions, thread-safe.
#ifndef EFFROBUST_EVALUATION_EARLY_EXIT_H_
#define EFFROBUST_EVALUATION_EARLY_EXIT_H_

#include <vector>

namespace effrobust {

// Candidate thresholds {0.05, 0.10, ..., 0.95}.
std::vector<double> CandidateThresholds();

// Index of the exit taken for one sample: the first internal exit
// i < K-1 with confidence[i] >= q, otherwise the final exit K-1.
// REQUIRES: confidence.size() == K >= 1.
int ExitIndex(const std::vector<double>& confidence, double q);

// Per-sample early-exit inputs: max-softmax confidence and correctness of
// each exit, for N samples and K exits.
struct ExitObservations {
  std::vector<std::vector<double>> confidence;  // [N][K]
  std::vector<std::vector<bool>> correct;       // [N][K]
};

struct ThresholdChoice {
  double rad = 0;            // relative accuracy drop allowed, e.g. 0.05
  double q = 0;              // chosen threshold
  double accuracy = 0;       // early-exit accuracy at q
  double full_accuracy = 0;  // accuracy of the final exit
  double mean_cost = 0;      // mean relative cost at q (1 = full network)
};

// Chooses the cheapest q (lowest mean relative cost; ties to the larger q)
// among CandidateThresholds() whose early-exit accuracy is above
// (1 - rad) * full accuracy. `relative_cost[i]` is the cost of exit i over
// the full network's (last = 1). If no candidate qualifies, returns q = 1.0
// (never exit early). REQUIRES: observations non-empty, sizes consistent.
ThresholdChoice SelectThreshold(const ExitObservations& obs,
                                const std::vector<double>& relative_cost,
                                double rad);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_EARLY_EXIT_H_
