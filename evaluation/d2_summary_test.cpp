#include "evaluation/d2_summary.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"

namespace effrobust {
namespace {

// Three captions: one twice as long under attack, one unchanged, one at
// max_len (60) both times.
RowBatch ThreeCaptions() {
  RowBatch b;
  b.AddInt("sample_index", {10, 11, 12});
  b.AddInt("steps_clean", {9, 4, 60});
  b.AddInt("steps_adv", {19, 4, 60});
  b.AddInt("length_clean", {8, 3, 60});
  b.AddInt("length_adv", {18, 3, 60});
  b.AddInt("ended_clean", {1, 1, 0});
  b.AddInt("ended_adv", {1, 1, 0});
  b.AddReal("latency_clean_ms", {2, 4, 10});
  b.AddReal("latency_adv_ms", {5, 4, 5});
  b.AddReal("pend_mean_clean", {0.1, 0.2, 0.3});
  b.AddReal("pend_mean_adv", {0.05, 0.2, 0.2});
  b.AddReal("pend_max_clean", {0.9, 0.95, 0.4});
  b.AddReal("pend_max_adv", {0.8, 0.95, 0.3});
  b.AddText("text_clean", {"a bag", "a coat", "two shirts"});
  b.AddText("text_adv", {"a bag and a bag", "a coat", "two shirts"});
  b.AddReal("l2", {0.5, 0, 1});
  b.AddReal("linf", {0.02, 0, 0.03});
  return b;
}

TEST(D2SummaryTest, ILoopsAndILatencyOnHandComputedSamples) {
  // I-Loops = (steps_adv + 1) / (steps_clean + 1) - 1: 20/10 - 1 = 1,
  // 5/5 - 1 = 0, 61/61 - 1 = 0. I-Latency = adv / clean - 1: 5/2 - 1 = 1.5,
  // 4/4 - 1 = 0, 5/10 - 1 = -0.5.
  EXPECT_DOUBLE_EQ(ILoops(9, 19), 1.0);
  auto m = SummarizeD2(ThreeCaptions());
  EXPECT_DOUBLE_EQ(m["samples"], 3);
  EXPECT_DOUBLE_EQ(m["mean_iloops"], 1.0 / 3);
  EXPECT_DOUBLE_EQ(m["max_iloops"], 1.0);
  EXPECT_DOUBLE_EQ(m["mean_ilatency"], 1.0 / 3);
  EXPECT_DOUBLE_EQ(m["max_ilatency"], 1.5);
}

TEST(D2SummaryTest, MeansSharesAndNorms) {
  auto m = SummarizeD2(ThreeCaptions());
  EXPECT_DOUBLE_EQ(m["mean_steps_clean"], 73.0 / 3);
  EXPECT_DOUBLE_EQ(m["mean_steps_adv"], 83.0 / 3);
  EXPECT_DOUBLE_EQ(m["mean_length_adv"], 81.0 / 3);
  EXPECT_DOUBLE_EQ(m["ended_clean"], 2.0 / 3);
  EXPECT_DOUBLE_EQ(m["mean_pend_clean"], 0.2);
  EXPECT_DOUBLE_EQ(m["max_pend_adv"], 0.95);
  EXPECT_DOUBLE_EQ(m["mean_latency_clean_ms"], 16.0 / 3);
  EXPECT_DOUBLE_EQ(m["latency_ratio"], 14.0 / 16);
  EXPECT_DOUBLE_EQ(m["mean_l2"], 0.5);
  EXPECT_DOUBLE_EQ(m["max_linf"], 0.03);
  EXPECT_EQ(m.count("mean_edits"), 0u);
}

TEST(D2SummaryTest, LatencyDisabledLeavesILatencyUndefined) {
  RowBatch b;
  b.AddInt("steps_clean", {3});
  b.AddInt("steps_adv", {7});
  b.AddInt("length_clean", {2});
  b.AddInt("length_adv", {6});
  b.AddInt("ended_clean", {1});
  b.AddInt("ended_adv", {1});
  b.AddReal("latency_clean_ms", {std::nan("")});
  b.AddReal("latency_adv_ms", {std::nan("")});
  for (std::string c : {"pend_mean_clean", "pend_mean_adv", "pend_max_clean", "pend_max_adv"}) {
    b.AddReal(c, {0.5});
  }
  b.AddInt("edits", {2});
  auto m = SummarizeD2(b);
  EXPECT_DOUBLE_EQ(m["mean_iloops"], 1.0);  // 8/4 - 1
  EXPECT_TRUE(std::isnan(m["mean_ilatency"]));
  EXPECT_TRUE(std::isnan(m["max_ilatency"]));
  EXPECT_DOUBLE_EQ(m["max_edits"], 2);
}

TEST(D2SummaryTest, MissingColumnIsAResultsError) {
  RowBatch b;
  b.AddInt("steps_clean", {3});
  EXPECT_THROW(SummarizeD2(b), ResultsError);
}

TEST(D2SummaryTest, BleuStatisticsRoundTripThroughTheMetrics) {
  BleuStats s =
      CorpusBleuStats({{"a", "bag", "and", "a", "coat"}}, {{{"a", "bag", "and", "a", "coat"}}});
  std::map<std::string, double> m;
  AddBleuMetrics("adv", s, &m);
  EXPECT_DOUBLE_EQ(m["bleu4_adv"], 1.0);
  EXPECT_DOUBLE_EQ(m["bleu_adv_match1"], 5);
  EXPECT_DOUBLE_EQ(m["bleu_adv_total4"], 2);
  BleuStats back;
  ASSERT_TRUE(BleuStatsFromMetrics(m, "adv", &back));
  EXPECT_EQ(back.matched, s.matched);
  EXPECT_EQ(back.total, s.total);
  EXPECT_DOUBLE_EQ(back.reference_length, 5);
  EXPECT_FALSE(BleuStatsFromMetrics(m, "clean", &back));
}

}  // namespace
}  // namespace effrobust
