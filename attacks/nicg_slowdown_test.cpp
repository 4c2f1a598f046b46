// NICGSlowDown on a small captioner trained once per binary on Fashion-MNIST
// scenes.
#include <gtest/gtest.h>

#include <filesystem>

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
    cap.encoder_epochs = 2;
    cap.train_scenes = 1500;
    cap.test_scenes = 100;
    cap.config.channels = 32;
    TrainedModel t = TrainCaptioner(train, test, o, cap);
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

// (Whether it lengthens captions "well beyond clean" is not pinned yet: on
// this small fixture 40 iterations barely move them; see docs/results-d2.md
// once the D2 issue lands.)
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
