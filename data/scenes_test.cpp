// Scene generator, captions and vocabulary on real Fashion-MNIST items.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/error.h"
#include "data/scenes.h"
#include "data/vocabulary.h"

namespace effrobust {
namespace {

class SceneTest : public ::testing::Test {
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
ImageSet* SceneTest::test_ = nullptr;

bool Disjoint(const Box& a, const Box& b) {
  return a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
}

TEST_F(SceneTest, SameSeedAndIndexGiveTheSameSceneOthersDiffer) {
  SceneGenerator g(*test_, 11), again(*test_, 11), other(*test_, 12);
  Scene a = g.Make(5), b = again.Make(5);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.captions, b.captions);
  ASSERT_EQ(a.items.size(), b.items.size());
  for (size_t i = 0; i < a.items.size(); ++i) EXPECT_EQ(a.items[i].source, b.items[i].source);
  EXPECT_NE(g.Make(6).pixels, a.pixels);
  EXPECT_NE(other.Make(5).pixels, a.pixels);
}

TEST_F(SceneTest, ItemsDoNotOverlapAndTightBoxesHoldExactlyTheirPixels) {
  SceneGenerator g(*test_, 3);
  std::map<size_t, int> sizes;
  for (int64_t s = 0; s < 300; ++s) {
    const Scene scene = g.Make(s);
    const int64_t n = static_cast<int64_t>(scene.items.size());
    ASSERT_GE(n, 1);
    ASSERT_LE(n, 5);
    ++sizes[scene.items.size()];
    std::vector<uint8_t> covered(scene.pixels.size(), 0);
    for (int64_t i = 0; i < n; ++i) {
      const SceneItem& it = scene.items[i];
      EXPECT_EQ(it.label, test_->labels[it.source]);
      EXPECT_GE(it.cell.x0, 0);
      EXPECT_LE(it.cell.x1, 64);
      EXPECT_EQ(it.cell.x1 - it.cell.x0, 20);
      EXPECT_TRUE(it.box.x0 >= it.cell.x0 && it.box.x1 <= it.cell.x1 && it.box.y0 >= it.cell.y0 &&
                  it.box.y1 <= it.cell.y1);
      for (int64_t j = i + 1; j < n; ++j) EXPECT_TRUE(Disjoint(it.cell, scene.items[j].cell));
      // Tight: every edge row and column of the box has a non-zero pixel.
      auto px = [&](int64_t x, int64_t y) { return scene.pixels[y * 64 + x]; };
      bool top = false, bottom = false, left = false, right = false;
      for (int64_t x = it.box.x0; x < it.box.x1; ++x) {
        top |= px(x, it.box.y0) > 0;
        bottom |= px(x, it.box.y1 - 1) > 0;
      }
      for (int64_t y = it.box.y0; y < it.box.y1; ++y) {
        left |= px(it.box.x0, y) > 0;
        right |= px(it.box.x1 - 1, y) > 0;
        for (int64_t x = it.box.x0; x < it.box.x1; ++x) covered[y * 64 + x] = 1;
      }
      EXPECT_TRUE(top && bottom && left && right) << "scene " << s << " item " << i;
    }
    for (size_t p = 0; p < covered.size(); ++p) {
      if (!covered[p]) ASSERT_EQ(scene.pixels[p], 0) << "ink outside every box, scene " << s;
    }
  }
  for (size_t n = 1; n <= 5; ++n) EXPECT_GT(sizes[n], 20) << n << " items";
}

TEST_F(SceneTest, EveryCaptionNamesTheItemMultisetAndLongerScenesHaveLongerCaptions) {
  SceneGenerator g(*test_, 8);
  std::map<size_t, std::pair<double, int>> words_by_items;
  for (int64_t s = 0; s < 300; ++s) {
    const Scene scene = g.Make(s);
    std::vector<int64_t> truth(10, 0);
    for (const auto& it : scene.items) ++truth[it.label];
    ASSERT_GE(scene.captions.size(), 3u);
    for (const auto& c : scene.captions) EXPECT_EQ(ItemsNamed(c), truth) << c;
    auto& acc = words_by_items[scene.items.size()];
    acc.first += static_cast<double>(Vocabulary::Split(scene.captions[0], false).size());
    ++acc.second;
  }
  const double one = words_by_items[1].first / words_by_items[1].second;
  const double five = words_by_items[5].first / words_by_items[5].second;
  EXPECT_GT(five, 2.5 * one) << one << " words for 1 item, " << five << " for 5";
}

TEST(SceneCaptions, HandMadeScenesReadAsExpected) {
  SceneItem shirt, boot;
  shirt.label = 6;
  shirt.cell = shirt.box = Box{0, 0, 20, 20};
  boot.label = 9;
  boot.cell = boot.box = Box{40, 2, 60, 22};
  auto c = CaptionsFor({boot, shirt}, 64);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], "there is a shirt and an ankle boot");
  EXPECT_EQ(c[1], "from left to right : a shirt and an ankle boot");
  EXPECT_EQ(c[2], "a shirt at the top left and an ankle boot at the top right");
  EXPECT_EQ(c[3], "a shirt to the left of an ankle boot");
  SceneItem shirt2 = shirt;
  shirt2.cell = shirt2.box = Box{0, 40, 20, 60};
  c = CaptionsFor({shirt, shirt2, boot}, 64);
  EXPECT_EQ(c[0], "there are two shirts and an ankle boot");
  EXPECT_EQ(c[3], "three items : a shirt , a shirt and an ankle boot");
  EXPECT_EQ(ItemsNamed(c[0]), (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 2, 0, 0, 1}));
}

TEST_F(SceneTest, OptionsThatCannotHoldTheItemsAreDataErrors) {
  SceneOptions o;
  o.max_items = 10;  // only 3 x 3 cells of 20 + 1 fit on 64
  EXPECT_THROW(SceneGenerator(*test_, 1, o), DataError);
  o = SceneOptions();
  o.min_items = 0;
  EXPECT_THROW(SceneGenerator(*test_, 1, o), DataError);
  ImageSet empty;
  EXPECT_THROW(SceneGenerator(empty, 1), DataError);
}

TEST_F(SceneTest, DatasetSplitsAreTheGeneratorsWithTheirSeeds) {
  EXPECT_EQ(SceneSplitSeed("train"), kSceneTrainSeed);
  EXPECT_EQ(SceneSplitSeed("test"), kSceneTestSeed);
  EXPECT_THROW(SceneSplitSeed("validation"), DataError);
  SceneGenerator g(*test_, SceneSplitSeed("test"));
  std::vector<Scene> range = MakeScenes(g, 3, 6);
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[0].pixels, g.Make(3).pixels);
  EXPECT_EQ(range[2].captions, g.Make(5).captions);
  EXPECT_TRUE(MakeScenes(g, 4, 4).empty());
  EXPECT_THROW(MakeScenes(g, 5, 4), DataError);
}

TEST(VocabularyTest, WordsRoundTripAndUnknownsBecomeUnk) {
  Vocabulary v = Vocabulary::FromTexts({"there is a coat", "a bag at the center"});
  EXPECT_EQ(v.Tokens()[0], "<pad>");
  EXPECT_EQ(v.Tokens()[2], "<end>");
  EXPECT_EQ(v.size(), 4 + 8);
  auto ids = v.Encode("a bag at the center");
  EXPECT_EQ(ids.front(), Vocabulary::kStart);
  EXPECT_EQ(ids.back(), Vocabulary::kEnd);
  EXPECT_EQ(v.Decode(ids), "a bag at the center");
  EXPECT_EQ(v.Encode("a dragon")[2], Vocabulary::kUnknown);
  // Decoding stops at the first <end> and skips padding.
  std::vector<int64_t> padded = {Vocabulary::kStart, v.Id("a"), Vocabulary::kPad, v.Id("coat"),
                                 Vocabulary::kEnd, v.Id("bag")};
  EXPECT_EQ(v.Decode(padded), "a coat");
  EXPECT_THROW(v.Decode({v.size()}), DataError);
  Vocabulary back = Vocabulary::FromTokens(v.Tokens(), false);
  EXPECT_EQ(back.Encode("there is a coat"), v.Encode("there is a coat"));
  EXPECT_THROW(Vocabulary::FromTokens({"a", "b"}, false), DataError);
}

TEST(VocabularyTest, CharactersRoundTrip) {
  Vocabulary v = Vocabulary::FromTexts({"hund", "haus"}, true);
  EXPECT_EQ(v.size(), 4 + 6);  // a d h n s u
  EXPECT_EQ(v.Decode(v.Encode("hold")), "h<unk><unk>d");
  EXPECT_EQ(v.Decode(v.Encode("haus")), "haus");
}

}  // namespace
}  // namespace effrobust
