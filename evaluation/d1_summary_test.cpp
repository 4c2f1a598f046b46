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
    b.AddInt("dynpred_clean_" + rad, {3, 4});
    b.AddInt("dynpred_adv_" + rad, {3, 4});
    b.AddReal("energy_clean_pj_" + rad, {10, 30});
    b.AddReal("energy_adv_pj_" + rad, {40, 40});
    b.AddReal("energy_worst_clean_pj_" + rad, {100, 100});
    b.AddReal("energy_worst_adv_pj_" + rad, {100, 100});
    b.AddReal("density_clean_" + rad, {0.25, 0.35});
    b.AddReal("density_adv_" + rad, {0.5, 0.6});
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
  auto m = SummarizeD1(TwoSamples(), EarlyExitLayout({50, 100}));
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
  // Energy: mean adv 40 over mean clean 20; sponge score = mean E / E_worst.
  EXPECT_DOUBLE_EQ(m["energy_ratio_rad5"], 2.0);
  EXPECT_DOUBLE_EQ(m["sponge_score_clean_rad5"], 0.2);
  EXPECT_DOUBLE_EQ(m["sponge_score_adv_rad5"], 0.4);
  EXPECT_DOUBLE_EQ(m["density_adv_rad15"], 0.55);
  EXPECT_DOUBLE_EQ(m["dyn_clean_acc_rad5"], 1.0);
}

TEST(D1SummaryTest, SinglePointFamilyUsesItsMetricWithoutSuffix) {
  RowBatch b;
  b.AddInt("sample_index", {0, 1});
  b.AddInt("label", {3, 4});
  b.AddInt("pred_clean", {3, 4});
  b.AddInt("pred_adv", {3, 4});
  b.AddInt("dynpred_clean", {3, 4});
  b.AddInt("dynpred_adv", {3, 0});
  b.AddReal("blocks_run_clean", {2, 4});
  b.AddReal("blocks_run_adv", {6, 6});
  b.AddReal("flops_clean", {60, 80});
  b.AddReal("flops_adv", {100, 100});
  for (std::string c : {"energy_clean_pj", "energy_adv_pj", "energy_worst_clean_pj",
                        "energy_worst_adv_pj", "density_clean", "density_adv", "latency_clean_ms",
                        "latency_adv_ms"}) {
    b.AddReal(c, {1, 1});
  }
  b.AddReal("linf", {0.01, 0.03});
  b.AddReal("l2", {0.5, 0.7});
  D1Layout layout;
  layout.metric = "blocks_run";
  layout.points = {""};
  layout.full_flops = 100;
  auto m = SummarizeD1(b, layout);
  EXPECT_DOUBLE_EQ(m["mean_blocks_run_clean"], 3.0);
  EXPECT_DOUBLE_EQ(m["mean_blocks_run_adv"], 6.0);
  // Clean mean 70 of full 100: the attack takes back all 30 saved FLOPs.
  EXPECT_DOUBLE_EQ(m["recovered_flops"], 1.0);
  EXPECT_DOUBLE_EQ(m["dyn_adv_acc"], 0.5);
  EXPECT_EQ(m.count("efficacy_clean"), 0u);
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
  EXPECT_TRUE(std::isnan(SummarizeD1(b, EarlyExitLayout({50, 100}))["latency_ratio_rad5"]));
}

}  // namespace
}  // namespace effrobust
