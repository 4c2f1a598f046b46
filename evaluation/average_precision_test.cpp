// Average precision on hand-computed examples.
#include "evaluation/average_precision.h"

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

// Two images: two boxes of class 0 in the first, one of class 3 in the second.
ImageBoxes Truth() {
  return {{Box(0, 0, 10, 10, 1, 0), Box(20, 20, 30, 30, 1, 0)}, {Box(5, 5, 25, 25, 1, 3)}};
}

TEST(AveragePrecisionTest, PerfectDetectionsScoreOne) {
  ApResult r = AveragePrecision(Truth(), Truth(), 0.5);
  EXPECT_DOUBLE_EQ(r.map, 1.0);
  ASSERT_EQ(r.per_class.size(), 2u);
  EXPECT_DOUBLE_EQ(r.per_class.at(0), 1.0);
  EXPECT_DOUBLE_EQ(r.per_class.at(3), 1.0);
}

TEST(AveragePrecisionTest, FalsePositiveRankedFirst) {
  // Class 0: FP (0.9), TP (0.8), TP (0.7). Precision 0, 1/2, 2/3 at recall
  // 0, 1/2, 1; envelope 2/3 everywhere: AP 2/3. Class 3 perfect: mAP 5/6.
  ImageBoxes det = {
      {Box(40, 40, 50, 50, 0.9f, 0), Box(0, 0, 10, 10, 0.8f, 0), Box(20, 20, 30, 30, 0.7f, 0)},
      {Box(5, 5, 25, 25, 0.5f, 3)}};
  ApResult r = AveragePrecision(det, Truth(), 0.5);
  EXPECT_NEAR(r.per_class.at(0), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.map, 5.0 / 6.0, 1e-12);
}

TEST(AveragePrecisionTest, FalsePositiveRankedLastCostsNothing) {
  ImageBoxes det = {
      {Box(0, 0, 10, 10, 0.9f, 0), Box(20, 20, 30, 30, 0.8f, 0), Box(40, 40, 50, 50, 0.1f, 0)},
      {Box(5, 5, 25, 25, 0.5f, 3)}};
  EXPECT_DOUBLE_EQ(AveragePrecision(det, Truth(), 0.5).map, 1.0);
}

TEST(AveragePrecisionTest, MissedBoxHalvesTheClass) {
  // Class 0 finds one of two boxes: recall reaches 1/2 at precision 1.
  ImageBoxes det = {{Box(0, 0, 10, 10, 0.9f, 0)}, {Box(5, 5, 25, 25, 0.5f, 3)}};
  ApResult r = AveragePrecision(det, Truth(), 0.5);
  EXPECT_DOUBLE_EQ(r.per_class.at(0), 0.5);
  EXPECT_DOUBLE_EQ(r.map, 0.75);
}

TEST(AveragePrecisionTest, DuplicateIsAFalsePositive) {
  // Two detections on the same class-3 box: the second is a FP after a TP.
  ImageBoxes det = {{Box(0, 0, 10, 10, 0.9f, 0), Box(20, 20, 30, 30, 0.8f, 0)},
                    {Box(5, 5, 25, 25, 0.9f, 3), Box(5, 5, 25, 24, 0.8f, 3)}};
  EXPECT_DOUBLE_EQ(AveragePrecision(det, Truth(), 0.5).per_class.at(3), 1.0);
  // Ranked the other way round, the duplicate is still matched once only.
  det[1][1].score = 0.95f;
  EXPECT_DOUBLE_EQ(AveragePrecision(det, Truth(), 0.5).per_class.at(3), 1.0);
}

TEST(AveragePrecisionTest, ThresholdDecidesLooseBoxes) {
  // Class 3 box shifted by 2 in x: intersection 18x20 = 360, union 440,
  // IoU 0.818.
  ImageBoxes det = {{Box(0, 0, 10, 10, 0.9f, 0), Box(20, 20, 30, 30, 0.8f, 0)},
                    {Box(7, 5, 27, 25, 0.9f, 3)}};
  EXPECT_DOUBLE_EQ(AveragePrecision(det, Truth(), 0.75).per_class.at(3), 1.0);
  // Shifted by 4: intersection 16x20 = 320, union 480, IoU 2/3.
  det[1][0] = Box(9, 5, 29, 25, 0.9f, 3);
  EXPECT_DOUBLE_EQ(AveragePrecision(det, Truth(), 0.5).per_class.at(3), 1.0);
  EXPECT_DOUBLE_EQ(AveragePrecision(det, Truth(), 0.75).per_class.at(3), 0.0);
}

TEST(AveragePrecisionTest, WrongClassDoesNotMatchAndUnseenClassesAreIgnored) {
  ImageBoxes det = {{Box(0, 0, 10, 10, 0.9f, 0), Box(20, 20, 30, 30, 0.8f, 0)},
                    {Box(5, 5, 25, 25, 0.9f, 4)}};  // class 4 is not in the truth
  ApResult r = AveragePrecision(det, Truth(), 0.5);
  EXPECT_EQ(r.per_class.size(), 2u);
  EXPECT_DOUBLE_EQ(r.per_class.at(3), 0.0);
  EXPECT_DOUBLE_EQ(r.map, 0.5);
}

TEST(AveragePrecisionTest, AgainstReferenceUsesConfidentReferenceBoxes) {
  ImageBoxes reference = {{Box(0, 0, 10, 10, 0.9f, 0), Box(20, 20, 30, 30, 0.2f, 0)}};
  ImageBoxes det = {{Box(0, 0, 10, 10, 0.6f, 0)}};
  EXPECT_DOUBLE_EQ(AveragePrecisionAgainst(det, reference, 0.5).map, 0.5);
  EXPECT_DOUBLE_EQ(AveragePrecisionAgainst(det, reference, 0.5, 0.5).map, 1.0);
}

TEST(AveragePrecisionTest, RejectsMismatchedImagesAndBadThreshold) {
  EXPECT_THROW(AveragePrecision({{}}, Truth(), 0.5), std::invalid_argument);
  EXPECT_THROW(AveragePrecision(Truth(), Truth(), 0.0), std::invalid_argument);
  EXPECT_THROW(AveragePrecision(Truth(), Truth(), 1.5), std::invalid_argument);
  EXPECT_DOUBLE_EQ(AveragePrecision({{}}, {{}}, 0.5).map, 0.0);  // no ground truth
}

}  // namespace
}  // namespace effrobust
