// Tests for the adaptive-token ViT, its victim adapter and its training: an
// untrained model with forced halting for exact cost checks, and a small
// model trained once per binary (2 epochs on 4000 Fashion-MNIST images).
#include "models/adaptive_vit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/adaptive_vit_trainer.h"
#include "tests/support/fixture_vit.h"
#include "models/adaptive_vit_victim.h"
#include "models/checkpoint.h"
#include "models/victim_loader.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

// A model whose scores never reach the halting threshold before the last
// block (gate_center far above any first-channel value).
AdaptiveVit NeverHalting() {
  torch::manual_seed(3);
  AdaptiveVitConfig c;
  c.gate_center = 1000;
  AdaptiveVit m(c);
  m->eval();
  return m;
}

torch::Tensor RandomImages(int64_t n) {
  torch::manual_seed(5);
  return torch::rand({n, 1, 28, 28});
}

// Per-sample FLOPs of one token in one block, and of one (query, key) pair
// in one block, by the conventions documented in adaptive_vit.cpp.
double TokenBlockFlops(const AdaptiveVitConfig& c) {
  const double d = c.dim, h = c.hidden();
  return 5 * d + (6 * d * d + 3 * d) + (2 * d * d + d) + d + 5 * d + (2 * d * h + h) + h +
         (2 * h * d + d) + d + 4;
}
double PairBlockFlops(const AdaptiveVitConfig& c) { return 4.0 * c.dim + 3.0 * c.heads; }

TEST(AdaptiveVitCost, WithoutHaltingEverySampleCostsFullFlops) {
  AdaptiveVit m = NeverHalting();
  AdaptiveVitVictim v(m);
  torch::NoGradGuard no_grad;
  DynamicResult r = v.Measure(RandomImages(3), "");
  const auto& c = m->config();
  const double t = c.tokens(), p = c.patch * c.patch, d = c.dim;
  const double by_hand = t * (2 * p * d + d) + t * d +
                         c.depth * (t * TokenBlockFlops(c) + t * t * PairBlockFlops(c)) + t * d +
                         5 * d + 2 * d * c.num_classes + c.num_classes;
  EXPECT_DOUBLE_EQ(v.full_flops(), by_hand);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(r.cost.flops[i], v.full_flops(), 1e-6 * v.full_flops());
    EXPECT_DOUBLE_EQ(r.metric[i], 1.0);
  }
}

TEST(AdaptiveVitCost, ForcedHaltSavesThePerTokenCostOfTheLaterBlocks) {
  AdaptiveVit m = NeverHalting();
  AdaptiveVitVictim v(m);
  const auto& c = m->config();
  const int64_t t = c.tokens(), halt_after = 1;
  std::vector<int64_t> forced(t, -1);
  forced[7] = halt_after;
  m->ForceHalt(forced);
  torch::NoGradGuard no_grad;
  DynamicResult r = v.Measure(RandomImages(2), "");
  const double later_blocks = static_cast<double>(c.depth - 1 - halt_after);
  // The halted token leaves T - 1 active tokens: T^2 - (T-1)^2 = 2T - 1
  // fewer (query, key) pairs per later block.
  const double saved = later_blocks * (TokenBlockFlops(c) + (2.0 * t - 1) * PairBlockFlops(c));
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(v.full_flops() - r.cost.flops[i], saved, 1e-6 * v.full_flops());
    EXPECT_DOUBLE_EQ(r.metric[i], 1.0 - later_blocks / static_cast<double>(t * c.depth));
  }
}

TEST(AdaptiveVitCost, HaltedTokenWritesNoNonzeroActivations) {
  AdaptiveVit m = NeverHalting();
  std::vector<int64_t> forced(m->config().tokens(), -1);
  forced[0] = 0;
  forced[1] = 0;
  m->ForceHalt(forced);
  std::vector<torch::Tensor> acts;
  torch::NoGradGuard no_grad;
  m->Run(RandomImages(2), nullptr, &acts);
  ASSERT_EQ(static_cast<int64_t>(acts.size()), m->config().depth);
  for (size_t l = 0; l < acts.size(); ++l) {
    auto rows = (acts[l].abs().sum(2) > 0).sum(1);
    const int64_t expected = m->config().tokens() - (l == 0 ? 0 : 2);
    EXPECT_EQ(rows[0].item<int64_t>(), expected) << "block " << l;
    EXPECT_EQ(rows[1].item<int64_t>(), expected) << "block " << l;
  }
}

TEST(AdaptiveVitCost, UnknownOperatingPointIsRejected) {
  AdaptiveVitVictim v(NeverHalting());
  torch::NoGradGuard no_grad;
  EXPECT_THROW(v.Measure(RandomImages(1), "rad5"), ModelError);
}

class TrainedAdaptiveVit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
    trained_ = new TrainedModel(TrainFixtureVit(train, *test_));
    auto module = std::dynamic_pointer_cast<AdaptiveVitImpl>(trained_->module);
    victim_ = new AdaptiveVitVictim(AdaptiveVit(module));
  }
  static void TearDownTestSuite() {
    delete victim_;
    delete trained_;
    delete test_;
    victim_ = nullptr;
    trained_ = nullptr;
    test_ = nullptr;
  }
  void SetUp() override {
    if (trained_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  static torch::Tensor Images(int64_t n) { return ImagesTensor(*test_, 0, n); }

  static ImageSet* test_;
  static TrainedModel* trained_;
  static AdaptiveVitVictim* victim_;
};
ImageSet* TrainedAdaptiveVit::test_ = nullptr;
TrainedModel* TrainedAdaptiveVit::trained_ = nullptr;
AdaptiveVitVictim* TrainedAdaptiveVit::victim_ = nullptr;

TEST_F(TrainedAdaptiveVit, TrainingLearnsAndHaltsTokensOnCleanInputs) {
  const auto& s = trained_->meta.stats;
  EXPECT_GT(s.at("acc_halting"), 0.6);
  EXPECT_GT(s.at("acc_no_halting"), 0.6);
  EXPECT_LT(s.at("token_depth"), 0.9);
  EXPECT_EQ(trained_->meta.arch, "adaptive_vit");
}

TEST_F(TrainedAdaptiveVit, MeasureGivesEachSampleItsBatchOfOneResult) {
  torch::NoGradGuard no_grad;
  const int64_t n = 24;
  torch::Tensor x = Images(n);
  DynamicResult batch = victim_->Measure(x, "");
  for (int64_t i = 0; i < n; ++i) {
    DynamicResult one = victim_->Measure(x.slice(0, i, i + 1), "");
    EXPECT_EQ(batch.pred[i], one.pred[0]) << i;
    EXPECT_DOUBLE_EQ(batch.metric[i], one.metric[0]) << i;
    EXPECT_NEAR(batch.cost.flops[i], one.cost.flops[0], 1e-9 * one.cost.flops[0]) << i;
    EXPECT_NEAR(batch.cost.energy_pj[i], one.cost.energy_pj[0], 1e-6 * one.cost.energy_pj[0]) << i;
  }
}

TEST_F(TrainedAdaptiveVit, GatheredInferenceAgreesWithMeasure) {
  torch::NoGradGuard no_grad;
  const int64_t n = 24;
  torch::Tensor x = Images(n);
  DynamicResult r = victim_->Measure(x, "");
  torch::Tensor logits = victim_->model()->Run(x).logits;
  double min_depth = 1;
  for (int64_t i = 0; i < n; ++i) {
    double depth = -1;
    torch::Tensor one = victim_->model()->InferGathered(x.slice(0, i, i + 1), &depth);
    EXPECT_DOUBLE_EQ(depth, r.metric[i]) << i;
    EXPECT_EQ(one.argmax(1).item<int64_t>(), r.pred[i]) << i;
    EXPECT_TRUE(torch::allclose(one[0], logits[i], 1e-4, 1e-4)) << i;
    min_depth = std::min(min_depth, depth);
  }
  EXPECT_LT(min_depth, 1.0);  // some tokens were really dropped
}

TEST_F(TrainedAdaptiveVit, DisablingHaltingRunsEveryTokenAtFullFlops) {
  torch::NoGradGuard no_grad;
  victim_->model()->set_halting(false);
  DynamicResult r = victim_->Measure(Images(8), "");
  victim_->model()->set_halting(true);
  for (int i = 0; i < 8; ++i) {
    EXPECT_DOUBLE_EQ(r.metric[i], 1.0);
    EXPECT_NEAR(r.cost.flops[i], victim_->full_flops(), 1e-6 * victim_->full_flops());
  }
  DynamicResult halting = victim_->Measure(Images(8), "");
  double sum = 0;
  for (double f : halting.cost.flops) sum += f;
  EXPECT_LT(sum / 8, victim_->full_flops());
}

TEST_F(TrainedAdaptiveVit, SavedModelLoadsAsIdenticalVictim) {
  TempDir dir("avit");
  const std::string path = dir.File("avit.pt");
  SaveModel(path, *trained_->module, trained_->meta);
  LoadedVictim loaded = LoadVictim(path, "fashion-mnist");
  ASSERT_EQ(loaded.victim->family(), kFamilyAdaptiveToken);
  EXPECT_EQ(loaded.victim->metric_name(), "token_depth");
  EXPECT_EQ(loaded.meta.stats.at("token_depth"), trained_->meta.stats.at("token_depth"));
  torch::NoGradGuard no_grad;
  torch::Tensor x = Images(16);
  VictimOutputs a = victim_->Forward(x, false);
  VictimOutputs b = loaded.victim->Forward(x, false);
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
  EXPECT_TRUE(torch::equal(a.ponder, b.ponder));
  EXPECT_TRUE(torch::equal(a.halting, b.halting));
  EXPECT_EQ(victim_->Measure(x, "").metric, loaded.victim->Measure(x, "").metric);
}

TEST(TrainAdaptiveVit, SameSeedGivesIdenticalParameters) {
  if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  TrainOptions opt;
  opt.epochs = 2;
  opt.max_train = 256;
  opt.max_test = 100;
  opt.seed = 3;
  TrainedModel a = TrainAdaptiveVit(train, train, opt);
  TrainedModel b = TrainAdaptiveVit(train, train, opt);
  auto pa = a.module->parameters(), pb = b.module->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
}

}  // namespace
}  // namespace effrobust
