#include "evaluation/early_exit.h"

#include <gtest/gtest.h>

namespace effrobust {
namespace {

TEST(EarlyExitTest, TakesFirstInternalExitAtOrAboveThreshold) {
  EXPECT_EQ(ExitIndex({0.3, 0.8, 0.9, 0.99}, 0.8), 1);
  EXPECT_EQ(ExitIndex({0.85, 0.8, 0.9, 0.99}, 0.8), 0);
}

TEST(EarlyExitTest, FallsBackToFinalExitWhenNoInternalExitIsConfident) {
  EXPECT_EQ(ExitIndex({0.3, 0.4, 0.5, 0.2}, 0.8), 3);  // final exit's confidence ignored
}

TEST(EarlyExitTest, CandidatesAreNineteenStepsOfFivePercent) {
  auto qs = CandidateThresholds();
  ASSERT_EQ(qs.size(), 19u);
  EXPECT_NEAR(qs.front(), 0.05, 1e-12);
  EXPECT_NEAR(qs.back(), 0.95, 1e-12);
}

// Three exits with costs 0.2/0.5/1. Exit 0 is very confident (0.9) and right
// on even samples, unsure (0.5) and wrong on odd ones; exit 1 is right with
// confidence 0.7.
ExitObservations MakeObservations() {
  ExitObservations obs;
  for (int s = 0; s < 10; ++s) {
    const bool even = s % 2 == 0;
    obs.confidence.push_back({even ? 0.9 : 0.5, 0.7, 0.99});
    obs.correct.push_back({even, true, true});
  }
  return obs;
}

TEST(EarlyExitTest, SelectsCheapestThresholdKeepingAccuracyAboveRad) {
  const std::vector<double> cost = {0.2, 0.5, 1.0};
  // q <= 0.5: everyone exits at 0, accuracy 0.5 (too low for RAD 5 %).
  // 0.5 < q <= 0.7: evens exit at 0, odds at 1 -> accuracy 1, cost 0.35.
  // 0.7 < q <= 0.9: odds reach the final exit -> cost 0.6.
  ThresholdChoice c5 = SelectThreshold(MakeObservations(), cost, 0.05);
  EXPECT_NEAR(c5.q, 0.70, 1e-9);
  EXPECT_DOUBLE_EQ(c5.accuracy, 1.0);
  EXPECT_NEAR(c5.mean_cost, 0.35, 1e-12);
  // With RAD 60% the half-wrong first exit is acceptable and cheaper.
  ThresholdChoice c60 = SelectThreshold(MakeObservations(), cost, 0.6);
  EXPECT_NEAR(c60.q, 0.5, 1e-9);  // ties go to the larger q
  EXPECT_NEAR(c60.mean_cost, 0.2, 1e-12);
}

TEST(EarlyExitTest, NoQualifyingThresholdMeansNeverExitEarly) {
  ExitObservations obs;
  obs.confidence = {{0.99, 0.99}};
  obs.correct = {{false, true}};
  ThresholdChoice c = SelectThreshold(obs, {0.5, 1.0}, 0.05);
  EXPECT_DOUBLE_EQ(c.q, 1.0);
}

}  // namespace
}  // namespace effrobust
