#include "evaluation/d3_summary.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"

namespace effrobust {
namespace {

// Two sequences (indices 4 and 7) x thresholds {0.25, 0.5} x 3 frames, in
// the executor's order (sequence, threshold, frame). `skip` leaves a column out.
RowBatch TwoSequences(const std::string& skip = "") {
  std::map<std::string, std::vector<int64_t>> ints;
  std::map<std::string, std::vector<double>> reals;
  const int64_t sequences[] = {4, 7};
  const double thresholds[] = {0.25, 0.5};
  for (int si = 0; si < 2; ++si) {
    for (int ti = 0; ti < 2; ++ti) {
      for (int f = 0; f < 3; ++f) {
        ints["sample_index"].push_back(sequences[si]);
        ints["frame"].push_back(f);
        ints["truth"].push_back(2);
        ints["candidates_clean"].push_back(2 + f);
        ints["candidates_adv"].push_back(10 * (ti + 1) + f + si);
        ints["boxes_clean"].push_back(1);
        ints["boxes_adv"].push_back(5 * (ti + 1));
        ints["tracks_clean"].push_back(f);
        ints["tracks_adv"].push_back(f * (ti + 2) + si);
        ints["confirmed_clean"].push_back(f);
        ints["confirmed_adv"].push_back(f);
        reals["threshold"].push_back(thresholds[ti]);
        const double network = 1, nms_clean = 0.5, nms_adv = 0.5 * (f + 1) * (ti + 1);
        const double tracker_clean = 0.25, tracker_adv = 0.25 + si;
        reals["network_clean_ms"].push_back(network);
        reals["network_adv_ms"].push_back(network);
        reals["nms_clean_ms"].push_back(nms_clean);
        reals["nms_adv_ms"].push_back(nms_adv);
        reals["tracker_clean_ms"].push_back(tracker_clean);
        reals["tracker_adv_ms"].push_back(tracker_adv);
        reals["total_clean_ms"].push_back(network + nms_clean + tracker_clean);
        reals["total_adv_ms"].push_back(network + nms_adv + tracker_adv);
      }
    }
  }
  RowBatch b;
  for (auto& [name, v] : ints) {
    if (name != skip) b.AddInt(name, v);
  }
  for (auto& [name, v] : reals) {
    if (name != skip) b.AddReal(name, v);
  }
  return b;
}

TEST(D3SummaryTest, ThresholdTagsAreHundredthsRounded) {
  const std::pair<double, std::string> cases[] = {{0.25, "t25"},     {0.5, "t50"}, {0.75, "t75"},
                                                  {0.249999, "t25"}, {0, "t0"},    {1, "t100"}};
  for (const auto& [threshold, tag] : cases) EXPECT_EQ(ThresholdTag(threshold), tag) << threshold;
  EXPECT_THROW(ThresholdTag(1.5), ResultsError);
  EXPECT_THROW(ThresholdTag(std::nan("")), ResultsError);
}

TEST(D3SummaryTest, CountsSequencesAndFramesPerThreshold) {
  auto m = SummarizeD3(TwoSequences());
  EXPECT_DOUBLE_EQ(m["sequences"], 2);
  EXPECT_DOUBLE_EQ(m["samples"], 2);
  EXPECT_DOUBLE_EQ(m["t25_frames"], 6);
  EXPECT_DOUBLE_EQ(m["t50_frames"], 6);
  EXPECT_EQ(m.count("t75_frames"), 0u);
}

TEST(D3SummaryTest, PerFrameMeansAndLargestTracksPerThreshold) {
  auto m = SummarizeD3(TwoSequences());
  EXPECT_DOUBLE_EQ(m["t25_candidates_clean"], 3);   // frames 2, 3, 4 twice
  EXPECT_DOUBLE_EQ(m["t25_candidates_adv"], 11.5);  // 10..12 and 11..13
  EXPECT_DOUBLE_EQ(m["t50_candidates_adv"], 21.5);  // 20..22 and 21..23
  EXPECT_DOUBLE_EQ(m["t25_boxes_clean"], 1);
  EXPECT_DOUBLE_EQ(m["t50_boxes_adv"], 10);
  EXPECT_DOUBLE_EQ(m["t25_tracks_clean"], 1);  // 0, 1, 2
  EXPECT_DOUBLE_EQ(m["t25_tracks_max_clean"], 2);
  EXPECT_DOUBLE_EQ(m["t25_tracks_adv"], 2.5);  // 0, 2, 4 and 1, 3, 5
  EXPECT_DOUBLE_EQ(m["t25_tracks_max_adv"], 5);
  EXPECT_DOUBLE_EQ(m["t50_tracks_adv"], 3.5);  // 0, 3, 6 and 1, 4, 7
  EXPECT_DOUBLE_EQ(m["t50_tracks_max_adv"], 7);
  EXPECT_DOUBLE_EQ(m["t25_tracks_ratio"], 2.5);
  EXPECT_DOUBLE_EQ(m["t50_tracks_ratio"], 3.5);
}

TEST(D3SummaryTest, TimesAreSummedPerSequenceThenAveraged) {
  auto m = SummarizeD3(TwoSequences());
  EXPECT_DOUBLE_EQ(m["t25_network_ms_clean"], 3);  // 3 frames x 1 ms
  EXPECT_DOUBLE_EQ(m["t50_network_ms_adv"], 3);
  EXPECT_DOUBLE_EQ(m["t25_nms_ms_clean"], 1.5);
  EXPECT_DOUBLE_EQ(m["t25_nms_ms_adv"], 3);  // 0.5 + 1 + 1.5
  EXPECT_DOUBLE_EQ(m["t50_nms_ms_adv"], 6);  // 1 + 2 + 3
  EXPECT_DOUBLE_EQ(m["t25_tracker_ms_clean"], 0.75);
  EXPECT_DOUBLE_EQ(m["t25_tracker_ms_adv"], 2.25);  // sequences 0.75 and 3.75
  EXPECT_DOUBLE_EQ(m["t25_total_ms_clean"], 5.25);
  EXPECT_DOUBLE_EQ(m["t25_total_ms_adv"], 8.25);
  EXPECT_DOUBLE_EQ(m["t50_total_ms_adv"], 11.25);
  EXPECT_DOUBLE_EQ(m["t25_total_ratio"], 8.25 / 5.25);
  EXPECT_DOUBLE_EQ(m["t50_total_ratio"], 11.25 / 5.25);
}

TEST(D3SummaryTest, RatioWithNoCleanTracksIsUndefined) {
  RowBatch b = TwoSequences("tracks_clean");
  b.AddInt("tracks_clean", std::vector<int64_t>(12, 0));
  auto m = SummarizeD3(b);
  EXPECT_TRUE(std::isnan(m["t25_tracks_ratio"]));
  EXPECT_DOUBLE_EQ(m["t25_tracks_max_clean"], 0);
}

TEST(D3SummaryTest, MissingColumnIsAResultsErrorNamingIt) {
  for (const std::string column : {"tracker_adv_ms", "boxes_clean", "threshold", "sample_index"}) {
    try {
      SummarizeD3(TwoSequences(column));
      ADD_FAILURE() << "no error without " << column;
    } catch (const ResultsError& e) {
      EXPECT_NE(std::string(e.what()).find(column), std::string::npos) << e.what();
    }
  }
}

TEST(D3SummaryTest, ThresholdOutOfRangeIsAResultsError) {
  RowBatch b = TwoSequences("threshold");
  b.AddReal("threshold", std::vector<double>(12, 25));
  EXPECT_THROW(SummarizeD3(b), ResultsError);
}

TEST(D3SummaryTest, MotaCountsRoundTripThroughTheMetrics) {
  MotaResult r;
  r.frames = 30;
  r.truth = 60;
  r.matches = 50;
  r.false_negatives = 10;
  r.false_positives = 7;
  r.id_switches = 3;
  r.mota = 1 - 20.0 / 60;
  r.motp = 0.8;
  std::map<std::string, double> m;
  AddMotaMetrics("t25_pseudo_adv", r, &m);
  EXPECT_EQ(m.size(), 7u);
  EXPECT_DOUBLE_EQ(m["t25_pseudo_adv_mota"], 1 - 20.0 / 60);
  EXPECT_DOUBLE_EQ(m["t25_pseudo_adv_idsw"], 3);
  MotaResult back;
  ASSERT_TRUE(MotaFromMetrics(m, "t25_pseudo_adv", &back));
  EXPECT_EQ(back.truth, 60);
  EXPECT_EQ(back.matches, 50);
  EXPECT_EQ(back.false_negatives, 10);
  EXPECT_EQ(back.false_positives, 7);
  EXPECT_EQ(back.id_switches, 3);
  EXPECT_DOUBLE_EQ(back.mota, r.mota);
  EXPECT_DOUBLE_EQ(back.motp, 0.8);
  EXPECT_FALSE(MotaFromMetrics(m, "t25_gt_adv", &back));
  m.erase("t25_pseudo_adv_fp");
  EXPECT_FALSE(MotaFromMetrics(m, "t25_pseudo_adv", &back));
}

}  // namespace
}  // namespace effrobust
