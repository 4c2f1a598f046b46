// Tests for the gated SkipNet, its VictimModel adapter, its trainer and its
// checkpoints. A small model is trained once per binary (1 epoch on 3000
// Fashion-MNIST images, with the compute penalty so that gates skip).
#include "models/skip_net.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/error.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/skip_net_trainer.h"
#include "models/skip_net_victim.h"
#include "models/victim_loader.h"

namespace effrobust {
namespace {

// --- FLOPs of the untrained network (no data needed) --------------------------

// Hand-computed FLOPs of a basic block without shortcut conv, C channels on
// an S x S map: two 3x3 convs (out * 2*9*C each), two BNs (2/elem), two
// ReLUs and the residual add (1/elem each).
double HandBlockFlops(double c, double s) {
  const double out = c * s * s;
  return 2 * (out * 2 * 9 * c) + 2 * (2 * out) + 3 * out;
}

DynamicResult MeasureWith(SkipNet& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  SkipNetVictim victim(model);
  return victim.Measure(x, "");
}

TEST(SkipNetFlops, ForcedOnNetworkCostsExactlyFullFlops) {
  torch::manual_seed(3);
  SkipNet model;
  model->eval();
  model->set_all_gates(GateMode::kForceOn);
  auto r = MeasureWith(model, torch::rand({3, 1, 28, 28}));
  for (int64_t b = 0; b < 3; ++b) {
    EXPECT_NEAR(r.cost.flops[b], model->full_flops(), 1e-6 * model->full_flops());
    EXPECT_EQ(r.metric[b], static_cast<double>(model->num_gates()));
  }
}

TEST(SkipNetFlops, ForcedOffGateSkipsExactlyItsBlockFlops) {
  torch::manual_seed(3);
  SkipNet model;
  model->eval();
  ASSERT_EQ(model->num_gates(), 4);
  // Gated blocks of the default config: two in stage 0 (16 ch, 14x14), the
  // second block of stage 1 (32 ch, 7x7) and of stage 2 (64 ch, 4x4).
  const std::vector<std::pair<double, double>> shape = {{16, 14}, {16, 14}, {32, 7}, {64, 4}};
  const auto x = torch::rand({2, 1, 28, 28});
  for (int64_t j = 0; j < 4; ++j) {
    model->set_all_gates(GateMode::kForceOn);
    model->set_gate_override(j, GateMode::kForceOff);
    auto r = MeasureWith(model, x);
    const double expected = model->full_flops() - HandBlockFlops(shape[j].first, shape[j].second);
    for (int64_t b = 0; b < 2; ++b) {
      EXPECT_NEAR(r.cost.flops[b], expected, 1e-6 * expected) << "gate " << j;
      EXPECT_EQ(r.metric[b], 3.0) << "gate " << j;
    }
    EXPECT_DOUBLE_EQ(model->block_flops(model->gated_block(j)),
                     HandBlockFlops(shape[j].first, shape[j].second));
  }
}

TEST(SkipNetFlops, SkippedBlockIsTheIdentity) {
  torch::manual_seed(4);
  SkipNet model;
  model->eval();
  model->set_all_gates(GateMode::kForceOff);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 1, 28, 28});
  auto pass = model->ForwardGated(x);
  std::vector<bool> ran;
  auto one = model->InferDynamic(x.slice(0, 0, 1), &ran);
  EXPECT_EQ(ran, std::vector<bool>(4, false));
  EXPECT_LE((one[0] - pass.logits[0]).abs().max().item<double>(), 1e-5);
}

TEST(SkipNetConfig, ArchConfigRoundTripsAndRejectsMissingKeys) {
  SkipNetConfig c;
  c.blocks_per_stage = 3;
  SkipNetConfig back = SkipNetConfig::FromArchConfig(1, 28, 10, c.ToArchConfig());
  EXPECT_EQ(back.blocks_per_stage, 3);
  EXPECT_EQ(SkipNet(back)->num_gates(), 7);
  auto m = c.ToArchConfig();
  m.erase("stages");
  EXPECT_THROW(SkipNetConfig::FromArchConfig(1, 28, 10, m), ModelError);
  m = c.ToArchConfig();
  m["stages"] = 0;
  EXPECT_THROW(SkipNetConfig::FromArchConfig(1, 28, 10, m), ModelError);
}

TEST(SkipNetVictimTest, UnknownOperatingPointIsModelError) {
  SkipNet model;
  model->eval();
  SkipNetVictim victim(model);
  torch::NoGradGuard no_grad;
  EXPECT_THROW(victim.Measure(torch::rand({1, 1, 28, 28}), "rad5"), ModelError);
}

TEST(SkipNetVictimTest, GatesAreDifferentiableWithRespectToTheInput) {
  torch::manual_seed(5);
  SkipNet model;
  model->eval();
  SkipNetVictim victim(model);
  auto x = torch::rand({2, 1, 28, 28}).requires_grad_(true);
  auto out = victim.Forward(x, true);
  ASSERT_EQ(out.gates.size(), 4u);
  EXPECT_EQ(out.activations.size(), 1u + 2 * 6);  // stem + two per block
  auto g = torch::autograd::grad({out.gates[3].sum() + out.logits.sum()}, {x})[0];
  EXPECT_GT(g.abs().sum().item<double>(), 0.0);
}

// --- trained model -------------------------------------------------------------

class TrainedSkipNet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
    TrainOptions opt;
    opt.name = "skip-test";
    opt.epochs = 1;
    opt.max_train = 3000;
    opt.max_test = 500;
    opt.validation_size = 1000;
    opt.batch_size = 32;
    opt.seed = 7;
    trained_ = new TrainedModel(TrainSkipNet(train, *test_, opt));
    model_ = new SkipNet(std::dynamic_pointer_cast<SkipNetImpl>(trained_->module));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete trained_;
    delete test_;
    model_ = nullptr;
    trained_ = nullptr;
    test_ = nullptr;
  }
  void SetUp() override {
    if (trained_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
    (*model_)->set_all_gates(GateMode::kAuto);
  }
  static ImageSet* test_;
  static TrainedModel* trained_;
  static SkipNet* model_;
};
ImageSet* TrainedSkipNet::test_ = nullptr;
TrainedModel* TrainedSkipNet::trained_ = nullptr;
SkipNet* TrainedSkipNet::model_ = nullptr;

TEST_F(TrainedSkipNet, RecordsTrainingStatsInMetadata) {
  const auto& s = trained_->meta.stats;
  for (const char* key :
       {"acc_dynamic", "acc_all_blocks", "skipped_block_flops_share", "mean_blocks_run"}) {
    ASSERT_TRUE(s.count(key)) << key;
  }
  EXPECT_EQ(trained_->meta.arch, "skip_net");
  EXPECT_GT(s.at("acc_dynamic"), 0.5);
  // The compute penalty makes clean inputs skip part of the gated blocks.
  EXPECT_GT(s.at("skipped_block_flops_share"), 0.1);
  EXPECT_LT(s.at("mean_blocks_run"), 4.0);
}

TEST_F(TrainedSkipNet, MeasureOfABatchEqualsMeasureOfEachSampleAlone) {
  auto x = ImagesTensor(*test_, 0, 64);
  SkipNetVictim victim(*model_);
  torch::NoGradGuard no_grad;
  auto batch = victim.Measure(x, "");
  std::set<double> distinct(batch.metric.begin(), batch.metric.end());
  ASSERT_GE(distinct.size(), 2u) << "all samples run the same blocks: the test would be vacuous";
  for (int64_t n = 0; n < 64; ++n) {
    auto alone = victim.Measure(x.slice(0, n, n + 1), "");
    EXPECT_EQ(alone.pred[0], batch.pred[n]) << n;
    EXPECT_EQ(alone.metric[0], batch.metric[n]) << n;
    EXPECT_NEAR(alone.cost.flops[0], batch.cost.flops[n], 1e-9 * batch.cost.flops[n]) << n;
    EXPECT_NEAR(alone.cost.energy_pj[0], batch.cost.energy_pj[n], 1e-6 * batch.cost.energy_pj[n]);
  }
}

TEST_F(TrainedSkipNet, InferOneRunsTheBlocksMeasureCharges) {
  auto x = ImagesTensor(*test_, 64, 128);
  torch::NoGradGuard no_grad;
  SkipNetPass pass = (*model_)->ForwardGated(x);
  SkipNetVictim victim(*model_);
  auto r = victim.Measure(x, "");
  for (int64_t n = 0; n < 64; ++n) {
    std::vector<bool> ran;
    auto logits = (*model_)->InferDynamic(x.slice(0, n, n + 1), &ran);
    ASSERT_EQ(ran.size(), pass.masks.size());
    double gated = 0, run = 0;
    for (size_t j = 0; j < ran.size(); ++j) {
      EXPECT_EQ(ran[j], pass.masks[j][n].item<float>() > 0.5f) << "sample " << n << " gate " << j;
      run += ran[j] ? 1 : 0;
      gated += ran[j] ? 0 : (*model_)->block_flops((*model_)->gated_block(j));
    }
    EXPECT_EQ(r.metric[n], run);
    EXPECT_NEAR(r.cost.flops[n], (*model_)->full_flops() - gated, 1e-6 * r.cost.flops[n]);
    EXPECT_EQ(logits.argmax(1).item<int64_t>(), r.pred[n]);
  }
}

TEST_F(TrainedSkipNet, SavedModelLoadsAsAnIdenticalVictim) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("skip_net_test_" + std::to_string(::getpid()) + ".pt"))
                               .string();
  SaveModel(path, *trained_->module, trained_->meta, /*overwrite=*/true);
  LoadedVictim loaded = LoadVictim(path, "fashion-mnist");
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".json");
  EXPECT_EQ(loaded.victim->family(), kFamilySkipGate);
  EXPECT_EQ(loaded.victim->metric_name(), "blocks_run");
  EXPECT_EQ(FamilyOfArch("skip_net"), kFamilySkipGate);
  EXPECT_DOUBLE_EQ(loaded.meta.stats.at("acc_dynamic"), trained_->meta.stats.at("acc_dynamic"));
  auto x = ImagesTensor(*test_, 200, 232);
  torch::NoGradGuard no_grad;
  SkipNetVictim original(*model_);
  auto a = original.Measure(x, "");
  auto b = loaded.victim->Measure(x, "");
  EXPECT_EQ(a.pred, b.pred);
  EXPECT_EQ(a.metric, b.metric);
  EXPECT_EQ(a.cost.flops, b.cost.flops);
  EXPECT_TRUE(
      torch::equal(original.Forward(x, false).logits, loaded.victim->Forward(x, false).logits));
  EXPECT_DOUBLE_EQ(loaded.victim->full_flops(), original.full_flops());
}

TEST_F(TrainedSkipNet, TrainingIsDeterministicForAFixedSeed) {
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  TrainOptions opt;
  opt.epochs = 1;
  opt.max_train = 600;
  opt.max_test = 100;
  opt.validation_size = 1000;
  opt.batch_size = 32;
  opt.seed = 3;
  TrainedModel a = TrainSkipNet(train, *test_, opt);
  TrainedModel b = TrainSkipNet(train, *test_, opt);
  auto pa = a.module->parameters(), pb = b.module->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
  EXPECT_EQ(a.meta.stats, b.meta.stats);
}

}  // namespace
}  // namespace effrobust
