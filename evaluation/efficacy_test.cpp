#include "evaluation/efficacy.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace effrobust {
namespace {

TEST(EfficacyTest, MatchesHandComputedTrapezoid) {
  // Curve (0,0) (0.25,0.5) (0.5,0.75) (1,1):
  // 0.25*0.5/2 + 0.25*(0.5+0.75)/2 + 0.5*(0.75+1)/2 = 0.65625.
  EXPECT_DOUBLE_EQ(Efficacy({0, 0, 1, 2}, {0.25, 0.5, 1.0}), 0.65625);
}

TEST(EfficacyTest, NeverExitingEarlyScoresAreaOfLastSegmentOnly) {
  // Everything at the final exit: (0,0) (0.25,0) (0.5,0) (1,1) -> 0.25.
  EXPECT_DOUBLE_EQ(Efficacy({2, 2, 2}, {0.25, 0.5, 1.0}), 0.25);
}

TEST(EfficacyTest, EarlierExitsGiveHigherEfficacy) {
  const std::vector<double> cost = {0.2, 0.6, 1.0};
  EXPECT_GT(Efficacy({0, 0, 0}, cost), Efficacy({1, 1, 1}, cost));
  EXPECT_GT(Efficacy({1, 1, 1}, cost), Efficacy({2, 2, 2}, cost));
}

TEST(EfficacyTest, OutOfRangeExitIsRejected) {
  EXPECT_THROW(Efficacy({3}, {0.5, 1.0}), std::invalid_argument);
}

TEST(EfficacyTest, RecoveredFlopsIsShareOfSavedCompute) {
  EXPECT_DOUBLE_EQ(RecoveredFlops(40, 70, 100), 0.5);
  EXPECT_DOUBLE_EQ(RecoveredFlops(100, 100, 100), 0.0);
}

}  // namespace
}  // namespace effrobust
