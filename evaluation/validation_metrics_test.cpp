// ROC-AUC and rates of an input-validation detector on hand-computed
// examples, and the split that keeps adversarial twins with their source.
#include "evaluation/validation_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <stdexcept>

namespace effrobust {
namespace {

TEST(RocAucTest, MatchesAHandComputedExample) {
  // Positives 0.9, 0.4; negatives 0.8, 0.3, 0.1. Pairs won by the positive:
  // 0.9 beats all 3, 0.4 beats 0.3 and 0.1: 5 of 6.
  EXPECT_DOUBLE_EQ(RocAuc({0.9, 0.8, 0.4, 0.3, 0.1}, {true, false, true, false, false}), 5.0 / 6);
}

TEST(RocAucTest, TiesCountOneHalfAndPerfectSeparationIsOne) {
  // One positive tied with one of two negatives: (1 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(RocAuc({0.5, 0.5, 0.2}, {true, false, false}), 0.75);
  EXPECT_DOUBLE_EQ(RocAuc({3, 2, 1, 0}, {true, true, false, false}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({0, 1, 2, 3}, {true, true, false, false}), 0.0);
  EXPECT_DOUBLE_EQ(RocAuc({1, 1, 1, 1}, {true, false, true, false}), 0.5);
}

TEST(RocAucTest, RefusesOneClassMismatchedSizesAndNonFiniteScores) {
  EXPECT_THROW(RocAuc({0.1, 0.2}, {true, true}), std::invalid_argument);
  EXPECT_THROW(RocAuc({0.1}, {true, false}), std::invalid_argument);
  EXPECT_THROW(RocAuc({0.1, std::nan("")}, {true, false}), std::invalid_argument);
}

TEST(RatesAtTest, CountsFlaggedAdversarialAndPassedCleanExamples) {
  // Threshold 0.5: adversarial 0.9 flagged, 0.4 not; clean 0.8 flagged
  // (false positive), 0.3 and 0.1 passed.
  const DetectionRates r =
      RatesAt({0.9, 0.8, 0.4, 0.3, 0.1}, {true, false, true, false, false}, 0.5);
  EXPECT_DOUBLE_EQ(r.detection_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.clean_rate, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.mean, (0.5 + 2.0 / 3) / 2);
}

TEST(SplitBySourceTest, NeverPutsTwinsOnBothSides) {
  // Each source appears twice (clean and its adversarial twin), in any order.
  std::vector<int64_t> source;
  for (int64_t i = 0; i < 500; ++i) source.push_back(i);
  for (int64_t i = 499; i >= 0; --i) source.push_back(i);
  const std::vector<bool> test = SplitBySource(source, 0.3, 7);
  std::map<int64_t, bool> side;
  int64_t tests = 0;
  for (size_t i = 0; i < source.size(); ++i) {
    auto [it, fresh] = side.emplace(source[i], test[i]);
    EXPECT_EQ(it->second, test[i]) << "source " << source[i];
    if (fresh && test[i]) ++tests;
  }
  // About 30 % of the 500 sources (binomial sd about 10).
  EXPECT_GT(tests, 110);
  EXPECT_LT(tests, 190);
  // Deterministic per seed; another seed gives another split.
  EXPECT_EQ(SplitBySource(source, 0.3, 7), test);
  EXPECT_NE(SplitBySource(source, 0.3, 8), test);
  EXPECT_THROW(SplitBySource(source, 0, 7), std::invalid_argument);
  EXPECT_THROW(SplitBySource(source, 1, 7), std::invalid_argument);
}

}  // namespace
}  // namespace effrobust
