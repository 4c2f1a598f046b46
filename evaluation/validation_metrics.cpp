#include "evaluation/validation_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "common/hash.h"

namespace effrobust {
namespace {

// Counts positives and negatives; throws on bad input.
void Check(const std::vector<double>& scores, const std::vector<bool>& adversarial,
           int64_t* positives, int64_t* negatives) {
  if (scores.size() != adversarial.size()) {
    throw std::invalid_argument("validation scores: " + std::to_string(scores.size()) +
                                " scores but " + std::to_string(adversarial.size()) + " labels");
  }
  *positives = 0;
  *negatives = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw std::invalid_argument("validation score " + std::to_string(i) + " is not finite");
    }
    ++(adversarial[i] ? *positives : *negatives);
  }
  if (*positives == 0 || *negatives == 0) {
    throw std::invalid_argument("validation scores need both adversarial and clean examples (got " +
                                std::to_string(*positives) + " and " + std::to_string(*negatives) +
                                ")");
  }
}

}  // namespace

double RocAuc(const std::vector<double>& scores, const std::vector<bool>& adversarial) {
  int64_t positives = 0, negatives = 0;
  Check(scores, adversarial, &positives, &negatives);
  // Mid-ranks of the scores (ties share their mean rank), then U of the
  // positives.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_ranks = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k) {
      if (adversarial[order[k]]) positive_ranks += rank;
    }
    i = j;
  }
  const double p = static_cast<double>(positives), n = static_cast<double>(negatives);
  return (positive_ranks - p * (p + 1) / 2) / (p * n);
}

DetectionRates RatesAt(const std::vector<double>& scores, const std::vector<bool>& adversarial,
                       double threshold) {
  int64_t positives = 0, negatives = 0;
  Check(scores, adversarial, &positives, &negatives);
  int64_t flagged_adv = 0, passed_clean = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool flagged = scores[i] >= threshold;
    if (adversarial[i] && flagged) ++flagged_adv;
    if (!adversarial[i] && !flagged) ++passed_clean;
  }
  DetectionRates r;
  r.detection_rate = static_cast<double>(flagged_adv) / static_cast<double>(positives);
  r.clean_rate = static_cast<double>(passed_clean) / static_cast<double>(negatives);
  r.mean = 0.5 * (r.detection_rate + r.clean_rate);
  return r;
}

std::vector<bool> SplitBySource(const std::vector<int64_t>& source, double test_share,
                                uint64_t seed) {
  if (!(test_share > 0 && test_share < 1)) {
    throw std::invalid_argument("test_share " + std::to_string(test_share) +
                                " is not allowed (allowed: strictly between 0 and 1)");
  }
  std::vector<bool> test(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    const uint64_t h = MixSeed(seed, static_cast<uint64_t>(source[i]), 0x7e57);
    // The top 53 bits as a uniform number in [0, 1).
    test[i] = static_cast<double>(h >> 11) * 0x1.0p-53 < test_share;
  }
  return test;
}

}  // namespace effrobust
