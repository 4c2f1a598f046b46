// IoU and class-aware greedy NMS on hand-made boxes.
#include "evaluation/boxes.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace effrobust {
namespace {

Detection Box(float x0, float y0, float x1, float y1, float score = 1, int64_t label = 0) {
  Detection d;
  d.x0 = x0;
  d.y0 = y0;
  d.x1 = x1;
  d.y1 = y1;
  d.score = score;
  d.label = label;
  return d;
}

TEST(IoUTest, HandComputedOverlaps) {
  // 10x10 boxes shifted by 5 in x: intersection 50, union 150.
  EXPECT_FLOAT_EQ(IoU(Box(0, 0, 10, 10), Box(5, 0, 15, 10)), 50.0f / 150.0f);
  // Shifted by 5 in x and y: intersection 25, union 175.
  EXPECT_FLOAT_EQ(IoU(Box(0, 0, 10, 10), Box(5, 5, 15, 15)), 25.0f / 175.0f);
  // A 4x4 box inside a 10x10 box: 16 / 100.
  EXPECT_FLOAT_EQ(IoU(Box(0, 0, 10, 10), Box(2, 2, 6, 6)), 0.16f);
  EXPECT_FLOAT_EQ(IoU(Box(1, 2, 3, 4), Box(1, 2, 3, 4)), 1.0f);
}

TEST(IoUTest, DisjointTouchingAndEmptyBoxesHaveNoOverlap) {
  EXPECT_EQ(IoU(Box(0, 0, 10, 10), Box(20, 20, 30, 30)), 0.0f);
  EXPECT_EQ(IoU(Box(0, 0, 10, 10), Box(10, 0, 20, 10)), 0.0f);  // shares an edge only
  EXPECT_EQ(IoU(Box(5, 5, 5, 9), Box(0, 0, 10, 10)), 0.0f);     // zero width
  EXPECT_EQ(BoxArea(Box(3, 3, 1, 1)), 0.0f);
}

TEST(NmsTest, SuppressesSameClassOverlapAndKeepsOtherClass) {
  std::vector<Detection> in = {Box(0, 0, 10, 10, 0.9f, 1), Box(1, 0, 11, 10, 0.8f, 1),
                               Box(1, 0, 11, 10, 0.7f, 2), Box(30, 30, 40, 40, 0.6f, 1)};
  std::vector<Detection> out = Nms(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FLOAT_EQ(out[0].score, 0.9f);
  EXPECT_EQ(out[1].label, 2);  // same place, other class: kept
  EXPECT_FLOAT_EQ(out[2].score, 0.6f);
}

TEST(NmsTest, KeepsOverlapAtOrBelowTheThreshold) {
  // IoU 1/3 between the two: kept at threshold 0.45, suppressed at 0.3.
  std::vector<Detection> in = {Box(0, 0, 10, 10, 0.9f), Box(5, 0, 15, 10, 0.8f)};
  EXPECT_EQ(Nms(in).size(), 2u);
  NmsOptions strict;
  strict.iou_threshold = 0.3f;
  EXPECT_EQ(Nms(in, strict).size(), 1u);
}

TEST(NmsTest, OutputIsSortedByScoreWhateverTheInputOrder) {
  std::vector<Detection> in = {Box(0, 0, 5, 5, 0.2f), Box(10, 0, 15, 5, 0.9f),
                               Box(20, 0, 25, 5, 0.5f)};
  std::vector<Detection> out = Nms(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FLOAT_EQ(out[0].score, 0.9f);
  EXPECT_FLOAT_EQ(out[1].score, 0.5f);
  EXPECT_FLOAT_EQ(out[2].score, 0.2f);
}

TEST(NmsTest, RespectsMaxDetections) {
  std::vector<Detection> in;
  for (int i = 0; i < 10; ++i) in.push_back(Box(20.0f * i, 0, 20.0f * i + 10, 10, 0.1f * i));
  NmsOptions o;
  o.max_detections = 4;
  std::vector<Detection> out = Nms(in, o);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_FLOAT_EQ(out[0].score, 0.9f);
  EXPECT_FLOAT_EQ(out[3].score, 0.6f);
  o.max_detections = 0;
  EXPECT_TRUE(Nms(in, o).empty());
}

TEST(NmsTest, TiesKeepInputOrder) {
  // Equal scores, overlapping: the first given wins, whichever it is.
  Detection a = Box(0, 0, 10, 10, 0.5f), b = Box(1, 1, 11, 11, 0.5f);
  std::vector<Detection> ab = Nms({a, b}), ba = Nms({b, a});
  ASSERT_EQ(ab.size(), 1u);
  ASSERT_EQ(ba.size(), 1u);
  EXPECT_EQ(ab[0].x0, 0.0f);
  EXPECT_EQ(ba[0].x0, 1.0f);
}

TEST(NmsTest, WorkGrowsQuadraticallyWithDisjointCandidates) {
  // n disjoint boxes of one class: every candidate is tested against every
  // kept one, n (n - 1) / 2 IoU computations.
  for (int64_t n : {10, 100, 400}) {
    std::vector<Detection> in;
    for (int64_t i = 0; i < n; ++i) {
      in.push_back(Box(20.0f * (i % 20), 20.0f * (i / 20), 20.0f * (i % 20) + 10,
                       20.0f * (i / 20) + 10, 0.5f));
    }
    int64_t comparisons = -1;
    EXPECT_EQ(static_cast<int64_t>(Nms(in, {}, &comparisons).size()), n);
    EXPECT_EQ(comparisons, n * (n - 1) / 2);
  }
}

TEST(NmsTest, RejectsBadOptions) {
  NmsOptions o;
  o.iou_threshold = 1.5f;
  EXPECT_THROW(Nms({}, o), std::invalid_argument);
  o.iou_threshold = 0.5f;
  o.max_detections = -1;
  EXPECT_THROW(Nms({}, o), std::invalid_argument);
}

}  // namespace
}  // namespace effrobust
