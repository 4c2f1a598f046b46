// CLEAR MOT accuracy on hand-computed sequences.
#include "evaluation/mota.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace effrobust {
namespace {

MotObject Obj(int64_t id, float x0, float y0, float size = 10) {
  MotObject o;
  o.id = id;
  o.box.x0 = x0;
  o.box.y0 = y0;
  o.box.x1 = x0 + size;
  o.box.y1 = y0 + size;
  return o;
}

TEST(MotaTest, PerfectTrackingScoresOne) {
  MotaAccumulator acc;
  for (int f = 0; f < 5; ++f) {
    acc.AddFrame({Obj(1, f, 0), Obj(2, 30 + f, 30)}, {Obj(7, f, 0), Obj(9, 30 + f, 30)});
  }
  MotaResult r = acc.Result();
  EXPECT_EQ(r.truth, 10);
  EXPECT_EQ(r.matches, 10);
  EXPECT_DOUBLE_EQ(r.mota, 1.0);
  EXPECT_DOUBLE_EQ(r.motp, 1.0);
}

TEST(MotaTest, CountsMissesFalsePositivesAndIdentitySwitches) {
  MotaAccumulator acc;
  // Frame 1: both objects found.
  acc.AddFrame({Obj(1, 0, 0), Obj(2, 40, 40)}, {Obj(10, 0, 0), Obj(20, 40, 40)});
  // Frame 2: object 2 missed (FN), a spurious track far away (FP).
  acc.AddFrame({Obj(1, 1, 0), Obj(2, 41, 40)}, {Obj(10, 1, 0), Obj(30, 80, 80)});
  // Frame 3: object 1 now covered by track 11 (IDSW); object 2 back on track 20.
  acc.AddFrame({Obj(1, 2, 0), Obj(2, 42, 40)}, {Obj(11, 2, 0), Obj(20, 42, 40)});
  // Frame 4: a box shifted by 5 of 10 pixels: IoU 5x10 / (2x100 - 50) = 1/3 < 0.5,
  // so object 1 is missed and track 11 is a false positive.
  acc.AddFrame({Obj(1, 3, 0)}, {Obj(11, 8, 0)});
  MotaResult r = acc.Result();
  EXPECT_EQ(r.frames, 4);
  EXPECT_EQ(r.truth, 7);
  EXPECT_EQ(r.matches, 5);
  EXPECT_EQ(r.false_negatives, 2);
  EXPECT_EQ(r.false_positives, 2);
  EXPECT_EQ(r.id_switches, 1);
  EXPECT_DOUBLE_EQ(r.mota, 1.0 - 5.0 / 7.0);
}

TEST(MotaTest, KeepsLastFramesMatchWhileItStillOverlaps) {
  // Two tracks on one object: track 5 matched first keeps it even when track 6
  // overlaps a little more, so there is no switch and 6 is a false positive.
  MotaAccumulator acc;
  acc.AddFrame({Obj(1, 0, 0)}, {Obj(5, 0, 0)});
  acc.AddFrame({Obj(1, 0, 0)}, {Obj(5, 2, 0), Obj(6, 1, 0)});
  MotaResult r = acc.Result();
  EXPECT_EQ(r.id_switches, 0);
  EXPECT_EQ(r.false_positives, 1);
  EXPECT_EQ(r.matches, 2);
}

TEST(MotaTest, BadInputThrows) {
  EXPECT_THROW(MotaAccumulator(1.0), std::invalid_argument);
  MotaAccumulator acc;
  EXPECT_THROW(acc.AddFrame({Obj(1, 0, 0), Obj(1, 5, 5)}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace effrobust
