// Scoring an input-validation detector (issue 7: a classifier that flags
// adversarial inputs, as the paper's RBF SVM): ROC-AUC of its scores, its
// rates at a decision threshold, and the split of clean and adversarial
// examples into train and test sets that keeps each source sample and its
// adversarial twin on the same side (the paper's artifact split per
// example, so twins leaked across the split). Torch-free. Thread-safe:
// pure functions on values.
#ifndef EFFROBUST_EVALUATION_VALIDATION_METRICS_H_
#define EFFROBUST_EVALUATION_VALIDATION_METRICS_H_

#include <cstdint>
#include <vector>

namespace effrobust {

// Area under the ROC curve of `scores` (higher = more likely adversarial)
// against `adversarial` (true = positive): the probability that a random
// positive scores above a random negative, ties counting one half
// (Mann-Whitney U / (P N)). Throws std::invalid_argument if the sizes
// differ, a score is not finite, or there is no positive or no negative.
double RocAuc(const std::vector<double>& scores, const std::vector<bool>& adversarial);

struct DetectionRates {
  double detection_rate = 0;  // TPR: adversarial examples flagged
  double clean_rate = 0;      // 1 - FPR: clean examples passed
  double mean = 0;            // (detection_rate + clean_rate) / 2
};

// The rates when an example is flagged iff its score >= `threshold`. Same
// errors as RocAuc.
DetectionRates RatesAt(const std::vector<double>& scores, const std::vector<bool>& adversarial,
                       double threshold);

// For each example, whether it goes to the test side: examples are grouped
// by `source` (the index of the clean sample an example is, or was made
// from), and about `test_share` of the groups, chosen by a hash of (seed,
// source), are test groups. Deterministic; the same source is on the same
// side in every call with the same seed. Throws std::invalid_argument unless
// 0 < test_share < 1.
std::vector<bool> SplitBySource(const std::vector<int64_t>& source, double test_share,
                                uint64_t seed);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_VALIDATION_METRICS_H_
