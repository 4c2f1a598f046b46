#include "evaluation/d1_summary.h"

#include <gtest/gtest.h>

#include <cmath>

namespace effrobust {
namespace {

RowBatch TwoSamples() {
  RowBatch b;
  b.AddInt("sample_index", {0, 1});
  b.AddInt("label", {3, 4});
  b.AddInt("pred_clean", {3, 4});
  b.AddInt("pred_adv", {3, 1});
  for (std::string rad : {"rad5", "rad15"}) {
    b.AddInt("exit_clean_" + rad, {0, 0});
    b.AddInt("exit_adv_" + rad, {1, 1});
    b.AddInt("eepred_clean_" + rad, {3, 4});
    b.AddInt("eepred_adv_" + rad, {3, 4});
    b.AddReal("flops_clean_" + rad, {50, 50});
    b.AddReal("flops_adv_" + rad, {100, 100});
    b.AddReal("latency_clean_ms_" + rad, {1.0, 1.0});
    b.AddReal("latency_adv_ms_" + rad, {3.0, 1.0});
  }
  b.AddReal("linf", {0.01, 0.03});
  b.AddReal("l2", {0.5, 0.7});
  return b;
}

TEST(D1SummaryTest, ComputesAccuracyEfficacyAndRatios) {
  auto m = SummarizeD1(TwoSamples(), {50, 100});
  EXPECT_DOUBLE_EQ(m["samples"], 2);
  EXPECT_DOUBLE_EQ(m["clean_acc"], 1.0);
  EXPECT_DOUBLE_EQ(m["adv_acc"], 0.5);
  // Clean: all exit at cost 0.5 -> area 0.5*1/2 + 0.5*(1+1)/2 = 0.75.
  EXPECT_DOUBLE_EQ(m["efficacy_clean_rad5"], 0.75);
  // Adversarial: all at the final exit -> 0.5*(0+1)/2 = 0.25.
  EXPECT_DOUBLE_EQ(m["efficacy_adv_rad5"], 0.25);
  EXPECT_NEAR(m["efficacy_drop_rad5"], 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m["flops_ratio_rad15"], 2.0);
  EXPECT_DOUBLE_EQ(m["recovered_flops_rad15"], 1.0);
  EXPECT_DOUBLE_EQ(m["latency_ratio_rad5"], 2.0);
  EXPECT_DOUBLE_EQ(m["max_linf"], 0.03);
}

TEST(D1SummaryTest, DisabledLatencyGivesNaNRatio) {
  RowBatch b;
  RowBatch full = TwoSamples();
  for (const Column& c : full.columns()) {
    if (c.name.rfind("latency", 0) == 0) {
      b.AddReal(c.name, {std::nan(""), std::nan("")});
    } else if (c.is_int) {
      b.AddInt(c.name, c.ints);
    } else {
      b.AddReal(c.name, c.reals);
    }
  }
  EXPECT_TRUE(std::isnan(SummarizeD1(b, {50, 100})["latency_ratio_rad5"]));
}

}  // namespace
}  // namespace effrobust
