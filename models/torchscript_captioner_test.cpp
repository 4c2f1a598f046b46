// Tests for scripted captioners: modules made at test time by
// tests/support/make_torchscript_captioner.py (Debian's python3-torch),
// trained for seconds on the fashion-mnist-scenes train scenes; the contract
// checks at load, greedy decoding through the module's decode_step, the
// input stage, and NICGSlowDown lengthening its captions as on the built-in
// captioner.
#include "models/torchscript_captioner.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "attacks/nicg_slowdown.h"
#include "common/error.h"
#include "models/captioner_trainer.h"
#include "models/torchscript_victim.h"
#include "tests/support/scripted_captioner.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

class TorchScriptCaptionerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch()) return;
    torch::set_num_threads(1);
    dir_ = new TempDir("torchscript_captioner");
    made_ = test::MakeScriptedCaptioners(dir_->path(), 600);
    trained_ = std::filesystem::exists(dir_->File("scenes.u8"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "/usr/bin/python3 has no torch (python3-torch)";
    ASSERT_TRUE(made_) << "make_torchscript_captioner.py failed; see " << dir_->File("make.log");
  }

  static std::string File(const std::string& name) { return dir_->File(name); }

  // The ModelError message of loading `name` for `dataset`, or "" if it loads.
  static std::string LoadError(const std::string& name, const std::string& dataset = "") {
    try {
      LoadTorchScriptCaptioner(File(name), dataset);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "";
  }

  // Test scenes [begin, end) of fashion-mnist-scenes as images [n, 1, 64, 64].
  static torch::Tensor TestScenes(int64_t begin, int64_t end) {
    static const ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
    SceneGenerator g(test, kSceneTestSeed);
    return SceneImages(MakeScenes(g, begin, end));
  }

  static TempDir* dir_;
  static bool made_;
  static bool trained_;
};
TempDir* TorchScriptCaptionerTest::dir_ = nullptr;
bool TorchScriptCaptionerTest::made_ = false;
bool TorchScriptCaptionerTest::trained_ = false;

TEST_F(TorchScriptCaptionerTest, LoadsTheDeclaredShapeVocabularyAndMaxLenFrozenInEvalMode) {
  EXPECT_TRUE(IsTorchScriptVictimFile(File("captioner.pt")));
  EXPECT_EQ(TorchScriptFamilyOf(File("captioner.pt")), "captioning");
  std::unique_ptr<CaptioningVictim> v =
      LoadTorchScriptCaptioner(File("captioner.pt"), "fashion-mnist-scenes");
  EXPECT_EQ(v->in_channels(), 1);
  EXPECT_EQ(v->image_size(), 64);
  EXPECT_EQ(v->max_len(), 30);
  ASSERT_GT(v->vocabulary().size(), 4);
  EXPECT_EQ(v->vocabulary().Tokens()[2], "<end>");
  EXPECT_FALSE(v->module().is_training());
  ASSERT_FALSE(v->module().parameters().empty());
  for (const auto& p : v->module().parameters()) EXPECT_FALSE(p.requires_grad());
  std::unique_ptr<CaptioningVictim> rgb =
      LoadTorchScriptCaptioner(File("captioner_rgb32.pt"), "captions-json");
  EXPECT_EQ(rgb->in_channels(), 3);
  EXPECT_EQ(rgb->image_size(), 32);
}

TEST_F(TorchScriptCaptionerTest, ContractErrorsNameTheFileTheFamilyAndWhatIsWrong) {
  struct Case {
    std::string file, dataset, expected;
  };
  const std::vector<Case> cases = {
      {"cap_no_step.pt", "",
       "missing method 'decode_step(self, features: Tensor, tokens: Tensor, state: List[Tensor]) "
       "-> Tuple[Tensor, List[Tensor]]'"},
      {"cap_bad_logits.pt", "", "decode_step's logits has shape [2, "},
      {"cap_no_max_len.pt", "", "missing attribute 'max_len: int'"},
      {"cap_wrong_family.pt", "", "declares effrobust_family 'detection', not 'captioning'"},
      {"cap_bad_vocab.pt", "",
       "attribute 'vocabulary' must be <pad>, <start>, <end>, <unk> (ids 0..3) then the word "
       "tokens, each once: vocabulary token 0 must be '<pad>'"},
      {"captioner.pt", "fashion-mnist",
       "dataset 'fashion-mnist' is not one a captioner runs on (allowed: fashion-mnist-scenes, "
       "captions-json)"},
      {"captioner_rgb32.pt", "fashion-mnist-scenes",
       "declares 3x32x32 inputs, but dataset 'fashion-mnist-scenes' has 1x64x64 scenes"},
  };
  for (const Case& c : cases) {
    const std::string e = LoadError(c.file, c.dataset);
    EXPECT_NE(e.find("TorchScript victim '" + File(c.file) + "' (family captioning): "),
              std::string::npos)
        << e;
    EXPECT_NE(e.find(c.expected), std::string::npos) << c.file << ": " << e;
    EXPECT_NE(e.find("(see docs/model-contract.md)"), std::string::npos) << e;
  }
  // A captioner is not a D1 victim, and a D1 loader says so.
  try {
    LoadTorchScriptVictim(File("captioner.pt"));
    ADD_FAILURE() << "a captioner loaded as a D1 victim";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("is not a D1 classifier family"), std::string::npos);
  }
}

TEST_F(TorchScriptCaptionerTest, BatchGreedyMatchesEachSampleAloneAndStopsEachOnItsOwn) {
  if (!trained_) GTEST_SKIP() << "Fashion-MNIST not installed";
  std::unique_ptr<CaptioningVictim> v = LoadTorchScriptCaptioner(File("captioner.pt"));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = TestScenes(0, 6);
  const GreedyResult batch = v->Greedy(x, v->max_len());
  ASSERT_EQ(batch.steps.size(), 6u);
  EXPECT_EQ(batch.logits.size(0), 6);
  EXPECT_EQ(batch.logits.size(2), v->vocabulary().size());
  for (int64_t i = 0; i < 6; ++i) {
    const GreedyResult alone = v->Greedy(x.slice(0, i, i + 1), v->max_len());
    EXPECT_EQ(alone.steps[0], batch.steps[i]) << i;
    EXPECT_EQ(alone.tokens[0], batch.tokens[i]) << i;
    EXPECT_EQ(batch.steps[i],
              static_cast<int64_t>(batch.tokens[i].size()) + (batch.ended[i] ? 1 : 0));
    EXPECT_TRUE(batch.ended[i]) << "the trained captioner ends its captions: " << i;
  }
  EXPECT_THROW(v->Greedy(torch::zeros({1, 3, 64, 64}), 5), ModelError);
  EXPECT_THROW(v->Greedy(x, 0), ModelError);
}

TEST_F(TorchScriptCaptionerTest, InputStageRunsBeforeEncodeAndKeepsTheGraphToTheImages) {
  std::unique_ptr<CaptioningVictim> v = LoadTorchScriptCaptioner(File("captioner.pt"));
  const torch::Tensor x = torch::rand({2, 1, 64, 64});
  {
    InputStageGuard<CaptioningVictim> guard(*v, [](const torch::Tensor& im) { return im * 0; });
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(v->Greedy(x, 5).logits, v->Greedy(torch::zeros_like(x), 5).logits));
  }
  torch::Tensor leaf = x.clone().requires_grad_(true);
  v->Greedy(leaf, 5).logits.sum().backward();
  ASSERT_TRUE(leaf.grad().defined());
  EXPECT_GT(leaf.grad().abs().sum().item<double>(), 0);
  EXPECT_EQ(v->RegionFeatures(x).dim(), 3);
}

TEST_F(TorchScriptCaptionerTest, NicgSlowDownRaisesTheDecoderStepsOfTheScriptedCaptioner) {
  if (!trained_) GTEST_SKIP() << "Fashion-MNIST not installed";
  std::unique_ptr<CaptioningVictim> v = LoadTorchScriptCaptioner(File("captioner.pt"));
  const torch::Tensor x = TestScenes(0, 6);
  NicgSlowDownOptions o;
  o.budget = 20;
  o.iterations = 200;
  o.max_len = v->max_len();
  NicgSlowDownResult r = NicgSlowDown(*v, x, o);
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> clean = v->Greedy(x, o.max_len).steps;
  double c = 0, a = 0;
  for (size_t i = 0; i < clean.size(); ++i) {
    EXPECT_GE(r.steps[i], clean[i]) << i;
    EXPECT_LE(r.distance[i], o.budget) << i;
    c += static_cast<double>(clean[i]) / static_cast<double>(clean.size());
    a += static_cast<double>(r.steps[i]) / static_cast<double>(clean.size());
  }
  std::printf("scripted captioner, L2 budget %g: mean steps %.2f clean -> %.2f adversarial\n",
              o.budget, c, a);
  EXPECT_GT(a, 1.2 * c);
  EXPECT_GE(r.images.min().item<double>(), 0);
  EXPECT_LE(r.images.max().item<double>(), 1);
  EXPECT_EQ(v->Greedy(r.images, o.max_len).steps, r.steps);  // the kept images decode that long
  for (const auto& p : v->module().parameters()) EXPECT_FALSE(p.requires_grad());
}

}  // namespace
}  // namespace effrobust
