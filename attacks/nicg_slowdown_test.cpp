// NICGSlowDown on a small captioner trained once per binary on Fashion-MNIST
// scenes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "attacks/nicg_slowdown.h"
#include "common/error.h"
#include "models/captioner_trainer.h"

namespace effrobust {
namespace {

class NicgOnTrainedCaptioner : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
    ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
    TrainOptions o;
    o.epochs = 8;  // decoder epochs: cheap, the encoder's output is cached
    o.batch_size = 64;
    o.seed = 3;
    CaptionerTrainOptions cap;
    // 2 epochs on 1500 scenes left the item head at 0 % (captions that
    // ignore the image, which no attack can lengthen); this gives 47 %.
    cap.encoder_epochs = 4;
    cap.train_scenes = 3000;
    cap.test_scenes = 100;
    cap.config.channels = 32;
    TrainedModel t = TrainCaptioner(train, test, o, cap);
    std::printf("fixture captioner: %s\n", t.summary.c_str());
    stats_ = new std::map<std::string, double>(t.meta.stats);
    model_ = new Captioner(std::dynamic_pointer_cast<CaptionerImpl>(t.module));
    SceneGenerator g(test, 99);
    std::vector<Scene> scenes;
    for (int i = 0; i < 6; ++i) scenes.push_back(g.Make(i));
    images_ = new torch::Tensor(SceneImages(scenes));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete images_;
    delete stats_;
    model_ = nullptr;
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  static Captioner* model_;
  static torch::Tensor* images_;
  static std::map<std::string, double>* stats_;
};
Captioner* NicgOnTrainedCaptioner::model_ = nullptr;
torch::Tensor* NicgOnTrainedCaptioner::images_ = nullptr;
std::map<std::string, double>* NicgOnTrainedCaptioner::stats_ = nullptr;

TEST_F(NicgOnTrainedCaptioner, FixtureCaptionerEndsItsCaptions) {
  EXPECT_GT(stats_->at("ended"), 0.9);
  EXPECT_LT(stats_->at("mean_steps"), 30);
}

// Mean decoder steps of the fixture images clean and after NICGSlowDown
// with the given L2 budget (100 iterations, the default lr).
std::pair<double, double> MeanSteps(Captioner& model, const torch::Tensor& images, double budget) {
  NicgSlowDownOptions o;
  o.budget = budget;
  NicgSlowDownResult r = NicgSlowDown(model, images, o);
  torch::NoGradGuard no_grad;
  std::vector<int64_t> clean = model->Greedy(images, 60).steps;
  double c = 0, a = 0;
  for (size_t i = 0; i < clean.size(); ++i) {
    c += static_cast<double>(clean[i]) / static_cast<double>(clean.size());
    a += static_cast<double>(r.steps[i]) / static_cast<double>(clean.size());
  }
  std::printf("L2 budget %g: mean steps %.2f clean -> %.2f adversarial\n", budget, c, a);
  return {c, a};
}

TEST_F(NicgOnTrainedCaptioner, LengthensCaptionsMoreWithMoreBudget) {
  // Measured on this fixture (6 scenes): 12.67 steps clean, 14.50 with a
  // squared-L2 budget of 20, 15.50 with 100; at the D2 experiment's budget
  // of 1 it does not move. Issue 5 asks for "well beyond clean" (twice as
  // long): not reached, see docs/results-d2.md.
  const auto [clean, mid] = MeanSteps(*model_, *images_, 20.0);
  const auto [clean_again, large] = MeanSteps(*model_, *images_, 100.0);
  EXPECT_EQ(clean, clean_again);
  EXPECT_GT(mid, clean);
  EXPECT_GE(large, mid);
  EXPECT_GT(large, 1.1 * clean);
}

TEST_F(NicgOnTrainedCaptioner, KeepsTheLongestCaptionWithinTheBudgetNeverShorterThanClean) {
  for (std::string norm : {"l2", "linf"}) {
    NicgSlowDownOptions o;
    o.norm = norm;
    o.budget = norm == "l2" ? 1.0 : 0.03;
    o.iterations = 40;
    torch::NoGradGuard no_grad;  // the attack turns gradients on for its own variable
    NicgSlowDownResult r = NicgSlowDown(*model_, *images_, o);
    std::vector<int64_t> clean = (*model_)->Greedy(*images_, 60).steps;
    for (size_t i = 0; i < clean.size(); ++i) EXPECT_GE(r.steps[i], clean[i]) << norm;
    // The kept images decode to the reported lengths, inside the budget and [0, 1].
    EXPECT_EQ((*model_)->Greedy(r.images, 60).steps, r.steps) << norm;
    torch::Tensor d = (r.images - *images_).flatten(1);
    const double worst = norm == "l2" ? d.pow(2).sum(1).max().item<double>()
                                      : d.abs().max().item<double>();
    EXPECT_LE(worst, o.budget + 1e-6) << norm;
    EXPECT_GE(r.images.min().item<double>(), 0.0);
    EXPECT_LE(r.images.max().item<double>(), 1.0);
  }
}

TEST_F(NicgOnTrainedCaptioner, SameBatchIsBitIdenticalOtherBatchesAgreeToRounding) {
  NicgSlowDownOptions o;
  o.iterations = 5;
  NicgSlowDownResult batch = NicgSlowDown(*model_, *images_, o);
  NicgSlowDownResult alone = NicgSlowDown(*model_, images_->slice(0, 2, 3), o);
  EXPECT_EQ(batch.steps[2], alone.steps[0]);
  // The batch size changes the rounding of the convolutions, and Adam's
  // normalisation amplifies it on pixels whose gradient is about 0
  // (measured: 7.7e-6 after 5 iterations); the same batch is bit-identical.
  EXPECT_LT((batch.images[2] - alone.images[0]).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(torch::equal(NicgSlowDown(*model_, *images_, o).images, batch.images));
}

TEST(NicgSlowDownOptionsTest, BadOptionsAreAttackErrors) {
  CaptionerConfig c;
  c.vocab = 8;
  Captioner m(c);
  NicgSlowDownOptions o;
  o.norm = "l1";
  EXPECT_THROW(NicgSlowDown(m, torch::rand({1, 1, 64, 64}), o), AttackError);
  o = NicgSlowDownOptions();
  o.budget = 0;
  EXPECT_THROW(NicgSlowDown(m, torch::rand({1, 1, 64, 64}), o), AttackError);
}

}  // namespace
}  // namespace effrobust
