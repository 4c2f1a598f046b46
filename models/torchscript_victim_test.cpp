// Tests for TorchScript victims: modules scripted at test time by
// tests/support/make_torchscript_victims.py (Debian's python3-torch), one per
// D1 family plus broken variants; the contract checks at load, the meters,
// and the family's attack raising its cost metric as on built-in models.
#include "models/torchscript_victim.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "common/error.h"
#include "common/hash.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/victim_loader.h"
#include "tests/support/scripted_models.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

class TorchScriptVictimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch()) return;
    dir_ = new TempDir("torchscript");
    const std::string data = DefaultFashionMnistDir();
    have_data_ = std::filesystem::exists(data + "/t10k-images-idx3-ubyte.gz");
    made_ = test::RunModelScript("make_torchscript_victims.py", dir_->path(), have_data_ ? data : "",
                                 dir_->File("make.log"));
    if (have_data_) {
      test_ = new ImageSet(LoadFashionMnist(data, "test"));
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete test_;
    dir_ = nullptr;
    test_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "/usr/bin/python3 has no torch (python3-torch)";
    ASSERT_TRUE(made_) << "make_torchscript_victims.py failed; see " << dir_->File("make.log");
  }

  static std::string File(const std::string& name) { return dir_->File(name); }

  // The ModelError message of loading `name`, or "" if it loads.
  static std::string LoadError(const std::string& name, const std::string& family = "") {
    try {
      LoadTorchScriptVictim(File(name), family);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "";
  }

  static double Mean(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  }

  static TempDir* dir_;
  static bool made_;
  static bool have_data_;
  static ImageSet* test_;
};
TempDir* TorchScriptVictimTest::dir_ = nullptr;
bool TorchScriptVictimTest::made_ = false;
bool TorchScriptVictimTest::have_data_ = false;
ImageSet* TorchScriptVictimTest::test_ = nullptr;

TEST_F(TorchScriptVictimTest, LoadVictimRecognisesScriptedFilesAndTheirDeclaredFamily) {
  for (const std::string family : {"early_exit", "skip_gate", "adaptive_token"}) {
    EXPECT_TRUE(IsTorchScriptVictimFile(File(family + ".pt"))) << family;
    EXPECT_EQ(TorchScriptFamilyOf(File(family + ".pt")), family);
    LoadedVictim v = LoadVictim(File(family + ".pt"), "fashion-mnist");
    EXPECT_EQ(v.victim->family(), family);
    EXPECT_EQ(v.meta.arch, "torchscript");
    EXPECT_EQ(v.meta.dataset, "fashion-mnist");
    EXPECT_EQ(v.victim->in_channels(), 1);
    EXPECT_EQ(v.victim->image_size(), 28);
    EXPECT_EQ(v.victim->num_classes(), 10);
    EXPECT_FALSE(v.victim->is_training());
    EXPECT_FALSE(v.victim->module().parameters().empty());
    for (const auto& p : v.victim->module().parameters()) EXPECT_FALSE(p.requires_grad());
  }
  EXPECT_FALSE(IsTorchScriptVictimFile(File("missing.pt")));
  EXPECT_FALSE(IsTorchScriptVictimFile(File("make.log")));
  EXPECT_EQ(TorchScriptFamilyOf(File("make.log")), "");
}

TEST_F(TorchScriptVictimTest, EarlyExitMeasureChargesTheStagesUpToTheExitAndHonoursTheCap) {
  LoadedVictim v = LoadTorchScriptVictim(File("early_exit.pt"), "early_exit");
  VictimModel& victim = *v.victim;
  ASSERT_EQ(v.meta.exit_flops.size(), 3u);
  EXPECT_EQ(victim.OperatingPoints(), (std::vector<std::string>{"rad15", "rad5"}));
  EXPECT_EQ(victim.metric_name(), "exit");
  EXPECT_DOUBLE_EQ(victim.full_flops(), v.meta.exit_flops.back());
  torch::Tensor x = torch::rand({6, 1, 28, 28}, torch::TensorOptions().dtype(torch::kFloat32));
  torch::NoGradGuard no_grad;
  DynamicResult r = victim.Measure(x, "rad5");
  ASSERT_EQ(r.metric.size(), 6u);
  for (size_t i = 0; i < r.metric.size(); ++i) {
    EXPECT_DOUBLE_EQ(r.cost.flops[i], v.meta.exit_flops[static_cast<size_t>(r.metric[i])]);
    EXPECT_GT(r.cost.energy_pj[i], 0);
    EXPECT_GT(r.cost.act_total[i], 0);
  }
  victim.SetExitCap(1);
  r = victim.Measure(x, "rad5");
  for (double e : r.metric) EXPECT_EQ(e, 0);
  victim.InferOne(x.slice(0, 0, 1), "rad15");
  victim.SetExitCap(0);
  EXPECT_THROW(victim.Measure(x, "rad50"), ModelError);
  VictimOutputs out = victim.Forward(x, /*keep_activations=*/true);
  EXPECT_EQ(out.exit_logits.size(), 3u);
  EXPECT_EQ(out.activations.size(), 3u);
}

TEST_F(TorchScriptVictimTest, SkipGateAndAdaptiveTokenMetricsFollowGatesAndActiveTokens) {
  torch::Tensor x = torch::rand({5, 1, 28, 28});
  torch::NoGradGuard no_grad;
  {
    LoadedVictim v = LoadTorchScriptVictim(File("skip_gate.pt"), "skip_gate");
    EXPECT_EQ(v.victim->metric_name(), "blocks_run");
    EXPECT_EQ(v.victim->OperatingPoints(), std::vector<std::string>{""});
    VictimOutputs out = v.victim->Forward(x, false);
    ASSERT_EQ(out.gates.size(), 3u);
    DynamicResult r = v.victim->Measure(x, "");
    const double full = v.victim->full_flops();
    for (int64_t i = 0; i < 5; ++i) {
      double run = 0;
      for (const auto& g : out.gates) run += g[i].item<double>() > 0.5 ? 1 : 0;
      EXPECT_EQ(r.metric[i], run);
      EXPECT_LE(r.cost.flops[i], full + 1e-6);
    }
    EXPECT_THROW(v.victim->SetExitCap(1), ModelError);
    EXPECT_THROW(v.victim->Measure(x, "rad5"), ModelError);
    v.victim->InferOne(x.slice(0, 0, 1), "");
  }
  {
    LoadedVictim v = LoadTorchScriptVictim(File("adaptive_token.pt"), "adaptive_token");
    EXPECT_EQ(v.victim->metric_name(), "token_depth");
    VictimOutputs out = v.victim->Forward(x, true);
    EXPECT_EQ(out.ponder.sizes(), (std::vector<int64_t>{5, 16}));
    EXPECT_EQ(out.halting.sizes(), (std::vector<int64_t>{5, 3, 16}));
    EXPECT_EQ(out.activations.size(), 3u);
    DynamicResult r = v.victim->Measure(x, "");
    for (int64_t i = 0; i < 5; ++i) {
      EXPECT_GT(r.metric[i], 0);
      EXPECT_LE(r.metric[i], 1);
      EXPECT_LE(r.cost.flops[i], v.victim->full_flops() + 1e-6);
    }
    v.victim->InferOne(x.slice(0, 0, 1), "");
  }
}

TEST_F(TorchScriptVictimTest, ContractErrorsNameTheFileAndWhatIsMissingOrWrong) {
  std::string e = LoadError("ee_no_method.pt");
  EXPECT_NE(e.find("ee_no_method.pt"), std::string::npos) << e;
  EXPECT_NE(e.find("missing method 'forward_exits(self, x: Tensor)"), std::string::npos) << e;

  e = LoadError("ee_bad_shape.pt");
  EXPECT_NE(e.find("forward_exits exit logits[0] has shape [2, 5], expected [2, 10]"),
            std::string::npos)
      << e;

  e = LoadError("ee_no_thresholds.pt");
  EXPECT_NE(e.find("missing attribute 'exit_thresholds: Dict[str, float]'"), std::string::npos)
      << e;

  e = LoadError("sg_no_flops.pt");
  EXPECT_NE(e.find("sg_no_flops.pt' (family skip_gate): missing attribute 'block_flops"),
            std::string::npos)
      << e;

  e = LoadError("at_bad_active.pt");
  EXPECT_NE(e.find("forward_halting active has shape [2], expected [2, 3]"), std::string::npos)
      << e;

  e = LoadError("early_exit.pt", "skip_gate");
  EXPECT_NE(e.find("declares effrobust_family 'early_exit', not 'skip_gate'"), std::string::npos)
      << e;

  // The dummy batch has the declared size; the dataset must fit it.
  EXPECT_EQ(LoadError("ee_rgb32.pt"), "");
  try {
    LoadTorchScriptVictim(File("ee_rgb32.pt"), "early_exit", "fashion-mnist");
    e = "";
  } catch (const ModelError& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("declares 3x32x32 inputs and 10 classes, but dataset 'fashion-mnist' has "
                   "1x28x28 images and 10 classes"),
            std::string::npos)
      << e;
  try {
    LoadTorchScriptVictim(File("early_exit.pt"), "early_exit", "fashion-mnist-scenes");
    e = "";
  } catch (const ModelError& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("dataset 'fashion-mnist-scenes' is not one a D1 victim runs on (allowed: "
                   "fashion-mnist, cifar10)"),
            std::string::npos)
      << e;

  // cifar10 takes 3x32x32 victims and refuses 1x28x28 ones.
  LoadedVictim rgb = LoadTorchScriptVictim(File("ee_rgb32.pt"), "early_exit", "cifar10");
  EXPECT_EQ(rgb.meta.dataset, "cifar10");
  EXPECT_EQ(rgb.meta.config.in_channels, 3);
  try {
    LoadTorchScriptVictim(File("early_exit.pt"), "early_exit", "cifar10");
    e = "";
  } catch (const ModelError& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("declares 1x28x28 inputs and 10 classes, but dataset 'cifar10' has 3x32x32 "
                   "images and 10 classes"),
            std::string::npos)
      << e;

  e = LoadError("missing.pt");
  EXPECT_NE(e.find("missing.pt' is missing"), std::string::npos) << e;

  e = LoadError("make.log");
  EXPECT_NE(e.find("cannot be loaded by torch::jit::load"), std::string::npos) << e;
}

// The family's attack raises its cost metric (and FLOPs) on the scripted
// victim, as the attack tests show for the built-in models.
struct AttackCase {
  std::string family;
  std::string attack;
  std::vector<std::pair<std::string, std::string>> params;
  std::string point;
  double min_gain;  // of the mean metric (seen: exit +0.28, blocks_run +0.19, depth +0.21)
};

TEST_F(TorchScriptVictimTest, FamilyAttackRaisesTheCostMetricOnTheScriptedVictim) {
  if (!have_data_) GTEST_SKIP() << "Fashion-MNIST not installed";
  const std::vector<AttackCase> cases = {
      {"early_exit", "deepsloth", {}, "rad5", 0.1},
      {"skip_gate", "ilfo", {{"norm", "l2"}, {"iterations", "60"}}, "", 0.1},
      {"adaptive_token",
       "slowformer",
       {{"mode", "per_sample"}, {"area", "0.25"}, {"iterations", "30"}},
       "",
       0.05},
  };

  const int64_t n = 32;
  torch::Tensor x = ImagesTensor(*test_, 0, n);
  torch::Tensor y = LabelsTensor(*test_, 0, n);
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < n; ++i) seeds.push_back(MixSeed(7, static_cast<uint64_t>(i)));
  for (const AttackCase& c : cases) {
    LoadedVictim v = LoadTorchScriptVictim(File(c.family + ".pt"), c.family);
    auto attack = MakeAttack(c.attack, CompleteAttackParams(c.attack, c.params));
    torch::Tensor adv = attack->Run(*v.victim, x, y, seeds);
    ASSERT_EQ(adv.sizes(), x.sizes());
    if (c.attack == "deepsloth") {  // ILFO here is L2, SlowFormer a patch
      EXPECT_LE((adv - x).abs().max().item<double>(), 8.0 / 255 + 1e-6) << c.attack;
    }
    torch::NoGradGuard no_grad;
    DynamicResult clean = v.victim->Measure(x, c.point);
    DynamicResult attacked = v.victim->Measure(adv, c.point);
    const double m0 = Mean(clean.metric), m1 = Mean(attacked.metric);
    const double f0 = Mean(clean.cost.flops), f1 = Mean(attacked.cost.flops);
    std::cout << c.family << " / " << c.attack << ": " << v.victim->metric_name() << " " << m0
              << " -> " << m1 << ", FLOPs " << f0 << " -> " << f1 << " (full "
              << v.victim->full_flops() << ")\n";
    EXPECT_GT(m1, m0 + c.min_gain) << c.attack;
    EXPECT_GT(f1, f0) << c.attack;
  }
}

}  // namespace
}  // namespace effrobust
