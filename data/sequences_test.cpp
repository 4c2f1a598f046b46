// Moving-item sequences with ground-truth identities, on real Fashion-MNIST
// items.
#include "data/sequences.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "common/error.h"

namespace effrobust {
namespace {

class SequenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/t10k-images-idx3-ubyte.gz")) return;
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
  }
  static void TearDownTestSuite() {
    delete test_;
    test_ = nullptr;
  }
  void SetUp() override {
    if (test_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  static ImageSet* test_;
};
ImageSet* SequenceTest::test_ = nullptr;

TEST_F(SequenceTest, SameSeedAndIndexGiveTheSameSequenceOthersDiffer) {
  SequenceGenerator g(*test_, 7), again(*test_, 7), other(*test_, 8);
  Sequence a = g.Make(3), b = again.Make(3), c = other.Make(3), d = g.Make(4);
  ASSERT_EQ(a.frames.size(), 30u);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (size_t f = 0; f < a.frames.size(); ++f) {
    EXPECT_EQ(a.frames[f].pixels, b.frames[f].pixels);
    ASSERT_EQ(a.frames[f].objects.size(), b.frames[f].objects.size());
  }
  EXPECT_NE(a.frames[0].pixels, c.frames[0].pixels);
  EXPECT_NE(a.frames[0].pixels, d.frames[0].pixels);
}

TEST_F(SequenceTest, IdentitiesKeepTheirClassAndAppearInOneStretchOfFrames) {
  SequenceGenerator g(*test_, 1);
  int64_t partial = 0, identities = 0;
  for (int64_t i = 0; i < 40; ++i) {
    Sequence s = g.Make(i);
    EXPECT_GE(s.identities, 2);
    EXPECT_LE(s.identities, 5);
    identities += s.identities;
    std::map<int64_t, int64_t> label, first, last, count;
    for (size_t f = 0; f < s.frames.size(); ++f) {
      for (const FrameObject& o : s.frames[f].objects) {
        ASSERT_GE(o.id, 0);
        ASSERT_LT(o.id, s.identities);
        if (label.count(o.id)) EXPECT_EQ(label[o.id], o.label);
        label[o.id] = o.label;
        if (!first.count(o.id)) first[o.id] = static_cast<int64_t>(f);
        last[o.id] = static_cast<int64_t>(f);
        ++count[o.id];
      }
    }
    for (const auto& [id, n] : count) {
      EXPECT_EQ(n, last[id] - first[id] + 1) << "id " << id << " has a gap";  // one stretch
      EXPECT_GE(n, 30 / 4) << "id " << id;
      if (n < 30) ++partial;
    }
  }
  // About half the items enter late or leave early (partial_share 0.5).
  EXPECT_GT(partial, identities / 5);
  EXPECT_LT(partial, identities * 4 / 5);
}

TEST_F(SequenceTest, ItemsMoveSmoothlyInsideTheCanvasAndEveryPixelBelongsToABox) {
  SequenceOptions opt;
  SequenceGenerator g(*test_, 2, opt);
  int64_t moved = 0;
  for (int64_t i = 0; i < 10; ++i) {
    Sequence s = g.Make(i);
    std::map<int64_t, Box> previous;
    for (const Frame& frame : s.frames) {
      for (const FrameObject& o : frame.objects) {
        EXPECT_GE(o.box.x0, 0);
        EXPECT_GE(o.box.y0, 0);
        EXPECT_LE(o.box.x1, s.size);
        EXPECT_LE(o.box.y1, s.size);
        EXPECT_LE(o.box.x1 - o.box.x0, opt.item_size);
        EXPECT_GE(o.visible, 0.0);
        EXPECT_LE(o.visible, 1.0);
        auto it = previous.find(o.id);
        if (it != previous.end()) {
          // The tight box moves with the item: at most max_speed plus rounding.
          EXPECT_LE(std::abs(o.box.x0 - it->second.x0), opt.max_speed + 1) << "id " << o.id;
          EXPECT_LE(std::abs(o.box.y0 - it->second.y0), opt.max_speed + 1) << "id " << o.id;
          if (o.box.x0 != it->second.x0 || o.box.y0 != it->second.y0) ++moved;
        }
        previous[o.id] = o.box;
      }
      for (int64_t y = 0; y < s.size; ++y) {
        for (int64_t x = 0; x < s.size; ++x) {
          if (frame.pixels[static_cast<size_t>(y * s.size + x)] == 0) continue;
          bool inside = false;
          for (const FrameObject& o : frame.objects) {
            inside |= x >= o.box.x0 && x < o.box.x1 && y >= o.box.y0 && y < o.box.y1;
          }
          ASSERT_TRUE(inside) << "pixel (" << x << ", " << y << ") outside every box";
        }
      }
    }
  }
  EXPECT_GT(moved, 100);
}

TEST_F(SequenceTest, TheTopItemIsFullyVisibleAndCoveredItemsLessSo) {
  // Many items on a small canvas overlap often; the highest id is drawn last.
  SequenceOptions opt;
  opt.canvas = 32;
  opt.min_items = opt.max_items = 4;
  opt.partial_share = 0;
  SequenceGenerator g(*test_, 3, opt);
  int64_t covered = 0;
  for (int64_t i = 0; i < 5; ++i) {
    for (const Frame& frame : g.Make(i).frames) {
      EXPECT_DOUBLE_EQ(frame.objects.back().visible, 1.0);
      for (const FrameObject& o : frame.objects) covered += o.visible < 1.0 ? 1 : 0;
    }
  }
  EXPECT_GT(covered, 0);
}

TEST_F(SequenceTest, BadOptionsAreDataErrorsNamingTheOption) {
  SequenceOptions o;
  o.frames = 2;
  try {
    SequenceGenerator g(*test_, 1, o);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'frames' is 2"), std::string::npos) << e.what();
  }
  o = SequenceOptions();
  o.max_items = 0;
  EXPECT_THROW(SequenceGenerator(*test_, 1, o), DataError);
  o = SequenceOptions();
  o.max_speed = -1;
  EXPECT_THROW(SequenceGenerator(*test_, 1, o), DataError);
  EXPECT_THROW(ResizedItem(*test_, test_->count, 20), DataError);
}

}  // namespace
}  // namespace effrobust
