// Tests for the skip-gate attacks (ILFO, GradMDM) on a small SkipNet trained
// once per binary (1 epoch on 6000 Fashion-MNIST images, with the compute
// penalty so that clean inputs skip blocks).
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "attacks/attack.h"
#include "attacks/attack_util.h"
#include "attacks/catalog.h"
#include "common/error.h"
#include "common/hash.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/multi_exit_victim.h"
#include "models/skip_net_trainer.h"
#include "models/skip_net_victim.h"

namespace effrobust {
namespace {

const char* const kGateAttacks[] = {"ilfo", "gradmdm"};

std::vector<uint64_t> Seeds(int64_t begin, int64_t end) {
  std::vector<uint64_t> s;
  for (int64_t i = begin; i < end; ++i) s.push_back(MixSeed(99, static_cast<uint64_t>(i)));
  return s;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

TEST(GateAttacks, BuildFromCatalogDefaultsForBothNorms) {
  for (const char* name : kGateAttacks) {
    EXPECT_NE(MakeAttack(name, CompleteAttackParams(name, {})), nullptr) << name;
    EXPECT_NE(MakeAttack(name, CompleteAttackParams(name, {{"norm", "l2"}})), nullptr) << name;
  }
}

TEST(GateAttacks, BadParametersAreAttackErrorsNamingTheAttack) {
  for (const char* name : kGateAttacks) {
    ParamMap p = CompleteAttackParams(name, {});
    p["norm"] = std::string("l1");
    try {
      MakeAttack(name, p);
      FAIL() << name << ": no exception";
    } catch (const AttackError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
    p = CompleteAttackParams(name, {});
    p["lr"] = 0.0;
    EXPECT_THROW(MakeAttack(name, p), AttackError) << name;
    p = CompleteAttackParams(name, {});
    p.erase("eps");
    EXPECT_THROW(MakeAttack(name, p), AttackError) << name;
  }
}

TEST(GateAttacks, RefuseAnEarlyExitVictim) {
  MultiExitCnn m;
  m->eval();
  MultiExitVictim victim(m, {});
  auto x = torch::rand({2, 1, 28, 28});
  auto y = torch::zeros({2}, torch::kInt64);
  for (const char* name : kGateAttacks) {
    auto attack = MakeAttack(name, CompleteAttackParams(name, {{"iterations", "2"}}));
    EXPECT_THROW(attack->Run(victim, x, y, {1, 2}), AttackError) << name;
  }
}

class GateAttackOnTrainedSkipNet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
    TrainOptions opt;
    opt.epochs = 1;
    opt.max_train = 6000;
    opt.max_test = 1000;
    opt.validation_size = 1000;
    opt.batch_size = 32;
    opt.seed = 5;
    trained_ = new TrainedModel(TrainSkipNet(train, *test_, opt));
    victim_ = new SkipNetVictim(SkipNet(std::dynamic_pointer_cast<SkipNetImpl>(trained_->module)));
    victim_->module().eval();
    for (auto& p : victim_->module().parameters()) p.set_requires_grad(false);
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
  static DynamicResult Measure(const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    return victim_->Measure(x, "");
  }
  static ImageSet* test_;
  static TrainedModel* trained_;
  static SkipNetVictim* victim_;
};
ImageSet* GateAttackOnTrainedSkipNet::test_ = nullptr;
TrainedModel* GateAttackOnTrainedSkipNet::trained_ = nullptr;
SkipNetVictim* GateAttackOnTrainedSkipNet::victim_ = nullptr;

TEST_F(GateAttackOnTrainedSkipNet, AttacksRunMoreBlocksAndFlopsThanClean) {
  auto x = ImagesTensor(*test_, 0, 32);
  auto y = LabelsTensor(*test_, 0, 32);
  const DynamicResult clean = Measure(x);
  const double full = victim_->full_flops();
  const double clean_flops = Mean(clean.cost.flops);
  ASSERT_LT(clean_flops, 0.95 * full) << "clean inputs skip nothing: the test would be vacuous";
  for (const char* name : kGateAttacks) {
    auto attack = MakeAttack(name, CompleteAttackParams(name, {}));
    const DynamicResult adv = Measure(attack->Run(*victim_, x, y, Seeds(0, 32)));
    EXPECT_GT(Mean(adv.metric), Mean(clean.metric) + 0.5) << name;
    // At least a third of the saved FLOPs come back.
    EXPECT_GT(Mean(adv.cost.flops) - clean_flops, (full - clean_flops) / 3) << name;
  }
}

// Sponge on a gated network: the path term (mean gate log P(run)) turns gates
// on, so the energy estimate rises by far more than density alone moves it.
TEST_F(GateAttackOnTrainedSkipNet, SpongeRaisesEnergyThroughTheGates) {
  auto x = ImagesTensor(*test_, 0, 32);
  auto y = LabelsTensor(*test_, 0, 32);
  const DynamicResult clean = Measure(x);
  auto run = [&](const std::string& path_weight) {
    auto attack =
        MakeAttack("sponge", CompleteAttackParams("sponge", {{"path_weight", path_weight}}));
    return Measure(attack->Run(*victim_, x, y, Seeds(0, 32)));
  };
  const DynamicResult with_path = run("1");
  const DynamicResult density_only = run("0");
  const double e_clean = Mean(clean.cost.energy_pj);
  EXPECT_GT(Mean(with_path.cost.energy_pj), 1.05 * e_clean);
  EXPECT_GT(Mean(with_path.metric), Mean(clean.metric) + 0.5) << "blocks run";
  EXPECT_GT(Mean(with_path.cost.energy_pj), Mean(density_only.cost.energy_pj));
}

TEST_F(GateAttackOnTrainedSkipNet, AttacksStayWithinBudgetAndImageRange) {
  auto x = ImagesTensor(*test_, 40, 48);
  auto y = LabelsTensor(*test_, 40, 48);
  for (const char* name : kGateAttacks) {
    for (const auto& [norm, eps] : {std::pair<std::string, double>{"linf", 0.02}, {"l2", 0.8}}) {
      auto attack = MakeAttack(
          name, CompleteAttackParams(
                    name, {{"norm", norm}, {"eps", FormatNumber(eps)}, {"iterations", "20"}}));
      auto adv = attack->Run(*victim_, x, y, Seeds(40, 48));
      ASSERT_EQ(adv.sizes(), x.sizes());
      EXPECT_GE(adv.min().item<float>(), 0.0f) << name << " " << norm;
      EXPECT_LE(adv.max().item<float>(), 1.0f) << name << " " << norm;
      auto d = (adv - x).flatten(1);
      const double size =
          norm == "linf" ? d.abs().max().item<double>() : d.norm(2, 1).max().item<double>();
      EXPECT_LE(size, eps + 1e-5) << name << " " << norm;
      EXPECT_GT(size, 0.0) << name << " " << norm << ": no perturbation at all";
    }
  }
}

TEST_F(GateAttackOnTrainedSkipNet, ResultOfASampleDoesNotDependOnItsBatch) {
  auto x = ImagesTensor(*test_, 100, 106);
  auto y = LabelsTensor(*test_, 100, 106);
  const auto seeds = Seeds(100, 106);
  for (const char* name : kGateAttacks) {
    auto attack = MakeAttack(name, CompleteAttackParams(name, {{"iterations", "30"}}));
    auto batch = attack->Run(*victim_, x, y, seeds);
    for (int64_t n = 0; n < 6; ++n) {
      auto alone = attack->Run(*victim_, x.slice(0, n, n + 1), y.slice(0, n, n + 1), {seeds[n]});
      EXPECT_LE((alone[0] - batch[n]).abs().max().item<double>(), 1e-5) << name << " sample " << n;
    }
    auto pair = attack->Run(*victim_, x.slice(0, 2, 4), y.slice(0, 2, 4), {seeds[2], seeds[3]});
    EXPECT_LE((pair - batch.slice(0, 2, 4)).abs().max().item<double>(), 1e-5) << name;
  }
}

TEST_F(GateAttackOnTrainedSkipNet, AttacksLeaveNoGradientsOnModelParameters) {
  auto x = ImagesTensor(*test_, 0, 2);
  auto y = LabelsTensor(*test_, 0, 2);
  for (const char* name : kGateAttacks) {
    MakeAttack(name, CompleteAttackParams(name, {{"iterations", "3"}}))
        ->Run(*victim_, x, y, Seeds(0, 2));
    for (const auto& p : victim_->module().parameters()) EXPECT_FALSE(p.grad().defined()) << name;
  }
}

}  // namespace
}  // namespace effrobust
