// Tests for the SlowFormer patch attack on a small adaptive-token ViT
// trained once per binary (2 epochs on 4000 Fashion-MNIST images).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "common/error.h"
#include "common/hash.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/adaptive_vit_trainer.h"
#include "tests/support/fixture_vit.h"
#include "models/adaptive_vit_victim.h"
#include "models/multi_exit_victim.h"

namespace effrobust {
namespace {

std::vector<uint64_t> Seeds(int64_t begin, int64_t end) {
  std::vector<uint64_t> s;
  for (int64_t i = begin; i < end; ++i) s.push_back(MixSeed(99, static_cast<uint64_t>(i)));
  return s;
}

std::unique_ptr<Attack> Make(const std::vector<std::pair<std::string, std::string>>& given) {
  return MakeAttack("slowformer", CompleteAttackParams("slowformer", given));
}

class SlowFormerOnTrainedVit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    train_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "train"));
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
    TrainedModel t = TrainFixtureVit(*train_, *test_);
    victim_ =
        new AdaptiveVitVictim(AdaptiveVit(std::dynamic_pointer_cast<AdaptiveVitImpl>(t.module)));
    for (auto& p : victim_->module().parameters()) p.set_requires_grad(false);
  }
  static void TearDownTestSuite() {
    delete victim_;
    delete train_;
    delete test_;
    victim_ = nullptr;
    train_ = nullptr;
    test_ = nullptr;
  }
  void SetUp() override {
    if (victim_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }

  static double MeanDepth(const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    DynamicResult r = victim_->Measure(x, "");
    double s = 0;
    for (double m : r.metric) s += m;
    return s / static_cast<double>(r.metric.size());
  }
  // A universal attack fitted on the first n training images.
  static std::unique_ptr<Attack> Fitted(
      const std::vector<std::pair<std::string, std::string>>& given, int64_t n, uint64_t seed) {
    auto a = Make(given);
    a->Fit(*victim_, ImagesTensor(*train_, 0, n), LabelsTensor(*train_, 0, n), seed);
    return a;
  }

  static ImageSet* train_;
  static ImageSet* test_;
  static AdaptiveVitVictim* victim_;
};
ImageSet* SlowFormerOnTrainedVit::train_ = nullptr;
ImageSet* SlowFormerOnTrainedVit::test_ = nullptr;
AdaptiveVitVictim* SlowFormerOnTrainedVit::victim_ = nullptr;

TEST(SlowFormerCatalog, DefaultsToAUniversalEightPercentTopLeftPatch) {
  ParamMap p = CompleteAttackParams("slowformer", {});
  EXPECT_EQ(std::get<std::string>(p.at("mode")), "universal");
  EXPECT_EQ(std::get<std::string>(p.at("position")), "top_left");
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("area")), 0.08);
  EXPECT_EQ(MakeAttack("slowformer", p)->fit_samples(), 512);
  EXPECT_EQ(Make({{"mode", "per_sample"}})->fit_samples(), 0);
}

TEST(SlowFormerFamily, RefusesAModelThatIsNotAnAdaptiveTokenViT) {
  MultiExitVictim cnn(MultiExitCnn(MultiExitConfig()), {});
  cnn.module().eval();
  torch::Tensor x = torch::rand({2, 1, 28, 28});
  torch::Tensor y = torch::zeros({2}, torch::kInt64);
  EXPECT_THROW(Make({})->Fit(cnn, x, y, 1), AttackError);
  EXPECT_THROW(Make({{"mode", "per_sample"}})->Run(cnn, x, y, Seeds(0, 2)), AttackError);
}

TEST_F(SlowFormerOnTrainedVit, UniversalRunBeforeFitIsAnError) {
  torch::Tensor x = ImagesTensor(*test_, 0, 2);
  EXPECT_THROW(Make({})->Run(*victim_, x, LabelsTensor(*test_, 0, 2), Seeds(0, 2)), AttackError);
}

TEST_F(SlowFormerOnTrainedVit, UniversalPatchStaysInItsSquareAndIsTheSameForEverySample) {
  auto attack = Fitted({{"epochs", "1"}}, 64, 5);
  const int64_t n = 8;
  torch::Tensor x = ImagesTensor(*test_, 0, n);
  torch::Tensor adv = attack->Run(*victim_, x, LabelsTensor(*test_, 0, n), Seeds(0, n));
  const int64_t side = 8;  // round(sqrt(0.08 * 28 * 28)) = round(7.92)
  using torch::indexing::Slice;
  torch::Tensor outside = torch::ones({1, 1, 28, 28}, torch::kBool);
  outside.index_put_({Slice(), Slice(), Slice(0, side), Slice(0, side)}, false);
  EXPECT_TRUE(torch::equal(adv.masked_select(outside), x.masked_select(outside)));
  torch::Tensor patch = adv.index({Slice(), Slice(), Slice(0, side), Slice(0, side)});
  for (int64_t i = 1; i < n; ++i) EXPECT_TRUE(torch::equal(patch[i], patch[0])) << i;
  EXPECT_GE(patch.min().item<float>(), 0.0f);
  EXPECT_LE(patch.max().item<float>(), 1.0f);
  torch::Tensor levels = patch * 255.0;
  EXPECT_LT((levels - levels.round()).abs().max().item<float>(), 1e-4f);
  // The patch really replaced the image there (a fitted patch is not the
  // clean pixels of every sample).
  EXPECT_FALSE(torch::equal(patch, x.index({Slice(), Slice(), Slice(0, side), Slice(0, side)})));
}

TEST_F(SlowFormerOnTrainedVit, FitIsDeterministicForASeed) {
  torch::Tensor x = ImagesTensor(*test_, 0, 4);
  torch::Tensor y = LabelsTensor(*test_, 0, 4);
  auto a = Fitted({{"epochs", "1"}}, 64, 11)->Run(*victim_, x, y, Seeds(0, 4));
  auto b = Fitted({{"epochs", "1"}}, 64, 11)->Run(*victim_, x, y, Seeds(0, 4));
  EXPECT_TRUE(torch::equal(a, b));
}

TEST_F(SlowFormerOnTrainedVit, UniversalPatchRaisesTokenDepth) {
  const int64_t n = 200;
  torch::Tensor x = ImagesTensor(*test_, 0, n);
  auto attack = Fitted({{"epochs", "6"}}, 256, 21);
  torch::Tensor adv = attack->Run(*victim_, x, LabelsTensor(*test_, 0, n), Seeds(0, n));
  const double clean = MeanDepth(x), attacked = MeanDepth(adv);
  // (Measured on this fixture: about +0.07 after 4 epochs.)
  EXPECT_GT(attacked, clean + 0.04) << "clean " << clean << " attacked " << attacked;
}

TEST_F(SlowFormerOnTrainedVit, PerSamplePatchRaisesTokenDepth) {
  const int64_t n = 48;
  torch::Tensor x = ImagesTensor(*test_, 0, n);
  torch::Tensor adv = Make({{"mode", "per_sample"}, {"iterations", "20"}})
                          ->Run(*victim_, x, LabelsTensor(*test_, 0, n), Seeds(0, n));
  const double clean = MeanDepth(x), attacked = MeanDepth(adv);
  EXPECT_GT(attacked, clean * 1.15 + 0.02) << "clean " << clean << " attacked " << attacked;
}

// Sponge on the adaptive-token ViT: GELU outputs are almost never zero, so
// density cannot move the energy; the path term (SlowFormer's ponder objective) keeps
// tokens alive, and the energy estimate follows the token depth.
TEST_F(SlowFormerOnTrainedVit, SpongeKeepsTokensAliveAndRaisesEnergy) {
  const int64_t n = 48;
  torch::Tensor x = ImagesTensor(*test_, 0, n);
  torch::Tensor y = LabelsTensor(*test_, 0, n);
  auto run = [&](const std::string& path_weight) {
    torch::Tensor adv =
        MakeAttack("sponge", CompleteAttackParams("sponge", {{"path_weight", path_weight}}))
            ->Run(*victim_, x, y, Seeds(0, n));
    torch::NoGradGuard no_grad;
    return victim_->Measure(adv, "");
  };
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e;
    return s / static_cast<double>(v.size());
  };
  DynamicResult clean;
  {
    torch::NoGradGuard no_grad;
    clean = victim_->Measure(x, "");
  }
  const DynamicResult with_path = run("1");
  const DynamicResult density_only = run("0");
  EXPECT_GT(mean(with_path.metric), mean(clean.metric) * 1.15) << "token depth";
  EXPECT_GT(mean(with_path.cost.energy_pj), mean(clean.cost.energy_pj) * 1.05);
  EXPECT_GT(mean(with_path.cost.energy_pj), mean(density_only.cost.energy_pj));
}

TEST_F(SlowFormerOnTrainedVit, PerSampleResultDoesNotDependOnTheBatch) {
  torch::Tensor x = ImagesTensor(*test_, 0, 3);
  torch::Tensor y = LabelsTensor(*test_, 0, 3);
  auto attack = Make({{"mode", "per_sample"}, {"iterations", "5"}});
  torch::Tensor batch = attack->Run(*victim_, x, y, Seeds(0, 3));
  torch::Tensor alone = attack->Run(*victim_, x.slice(0, 1, 2), y.slice(0, 1, 2), Seeds(1, 2));
  EXPECT_TRUE(torch::equal(batch[1], alone[0]));
}

}  // namespace
}  // namespace effrobust
