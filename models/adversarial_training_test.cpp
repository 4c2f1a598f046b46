// Adversarial training (models/adversarial_training.h): option checks and
// labels, the inner loop's ball and direction for every family objective,
// the checkpoint field, and a tiny adversarially trained model per family.
#include "models/adversarial_training.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "data/tensor_view.h"
#include "models/captioner.h"
#include "models/captioner_trainer.h"
#include "models/checkpoint.h"
#include "models/detector.h"
#include "models/detector_trainer.h"
#include "models/trainer.h"

namespace effrobust {
namespace {

bool DataAvailable() {
  return std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz");
}

AdversarialOptions Fast(AdversarialMode mode, int64_t steps) {
  AdversarialOptions o;
  o.mode = mode;
  o.steps = steps;
  return o;
}

TEST(AdversarialOptionsTest, UnsupportedArchOrOutOfRangeValueIsModelErrorNamingIt) {
  struct Case {
    const char* arch;
    double epsilon, step;
    int64_t steps;
    double mix;
    const char* named;
  };
  for (const Case& c : {Case{"skip_net", 0.03, 0.01, 10, 0.5, "skip_net"},
                        Case{"translator", 0.03, 0.01, 10, 0.5, "translator"},
                        Case{"multi_exit_cnn", 0, 0.01, 10, 0.5, "--epsilon"},
                        Case{"captioner", 1.5, 0.01, 10, 0.5, "--epsilon"},
                        Case{"detector", 0.03, 0, 10, 0.5, "--at-step"},
                        Case{"multi_exit_cnn", 0.03, 0.01, 0, 0.5, "--at-steps"},
                        Case{"multi_exit_cnn", 0.03, 0.01, 10, 0, "--at-mix"},
                        Case{"multi_exit_cnn", 0.03, 0.01, 10, 1.5, "--at-mix"}}) {
    AdversarialOptions o;
    o.epsilon = c.epsilon;
    o.step = c.step;
    o.steps = c.steps;
    o.mix = c.mix;
    try {
      CheckAdversarialOptions(c.arch, o);
      ADD_FAILURE() << "accepted " << c.arch << " / " << c.named;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(c.named), std::string::npos) << e.what();
    }
  }
  for (const std::string& arch : AdversarialArchs()) {
    EXPECT_NO_THROW(CheckAdversarialOptions(arch, AdversarialOptions()));
  }
  EXPECT_THROW(ParseAdversarialMode("fgsm"), ModelError);
  EXPECT_EQ(ParseAdversarialMode(AdversarialModeName(AdversarialMode::kEfficiency)),
            AdversarialMode::kEfficiency);
}

TEST(AdversarialLabelTest, NamesModeFamilyObjectiveAndEveryValue) {
  AdversarialOptions o;
  EXPECT_EQ(AdversarialLabel("multi_exit_cnn", o),
            "pgd linf eps=0.0314 step=0.00784 steps=10 mix=0.5");
  o.mode = AdversarialMode::kEfficiency;
  o.steps = 3;
  o.mix = 1;
  EXPECT_EQ(AdversarialLabel("multi_exit_cnn", o).rfind("efficiency(deepsloth) linf", 0), 0u);
  EXPECT_NE(AdversarialLabel("captioner", o).find("nicgslowdown"), std::string::npos);
  EXPECT_NE(AdversarialLabel("detector", o).find("overload"), std::string::npos);
  EXPECT_NE(AdversarialLabel("detector", o).find("steps=3 mix=1"), std::string::npos);
}

// Images in [0, 1] with some pixels at the bounds, so clamping matters.
torch::Tensor Images(int64_t n, int64_t side) {
  torch::manual_seed(11);
  return torch::rand({n, 1, side, side}).mul(1.4).sub(0.2).clamp(0, 1);
}

// The inner loop on `objective`: inside the ball and [0, 1], and the
// objective moved the way the mode wants by a clear margin.
void ExpectInnerLoopWorks(const InnerObjective& objective, const torch::Tensor& x,
                          const AdversarialOptions& o) {
  torch::Tensor adv = InnerMaximise(x, objective, o, 5);
  ASSERT_EQ(adv.sizes(), x.sizes());
  EXPECT_LE((adv - x).abs().max().item<double>(), o.epsilon + 1e-6);
  EXPECT_GE(adv.min().item<double>(), 0.0);
  EXPECT_LE(adv.max().item<double>(), 1.0);
  EXPECT_FALSE(adv.requires_grad());
  torch::NoGradGuard no_grad;
  const double before = objective.loss(x).item<double>();
  const double after = objective.loss(adv).item<double>();
  // Tiny models move these objectives little within 8/255 (the detector's
  // scores sit near 0, where Overload's objective is flat), so the bar is a
  // move in the objective's direction 100 times float rounding of the sum
  // (1.2e-7 relative).
  EXPECT_GT(objective.direction * (after - before), 1e-5 * std::abs(before))
      << "before " << before << " after " << after;
}

TEST(InnerMaximiseTest, ObjectiveOnAnotherArchsModuleIsModelError) {
  MultiExitCnn model{MultiExitConfig()};
  const BatchLoss unused = [](const torch::Tensor&) { return torch::zeros({}); };
  EXPECT_THROW(
      MakeInnerObjective("detector", Fast(AdversarialMode::kEfficiency, 1), *model, unused),
      ModelError);
}

TEST(AdversarialMetadataTest, FieldRoundTripsAndIsAbsentForStandardTraining) {
  ModelMetadata m;
  m.name = "m";
  m.exit_accuracy = {0.5};
  m.exit_flops = {1};
  const std::string plain = MetadataToJson(m);
  EXPECT_EQ(plain.find("adversarial"), std::string::npos);
  EXPECT_EQ(MetadataFromJson(plain).adversarial, "");
  m.adversarial = AdversarialLabel("multi_exit_cnn", AdversarialOptions());
  const ModelMetadata back = MetadataFromJson(MetadataToJson(m));
  EXPECT_EQ(back.adversarial, m.adversarial);
  EXPECT_EQ(back.name, "m");
}

// The batches a hook saw and the loss it returned, around the real hook.
struct CountingHook {
  TrainingLossHook inner;
  std::shared_ptr<int64_t> calls = std::make_shared<int64_t>(0);
  TrainingLossHook Wrap() {
    return [inner = inner, calls = calls](torch::nn::Module& m, const torch::Tensor& x,
                                          const BatchLoss& loss_of) {
      ++*calls;
      EXPECT_TRUE(m.is_training());
      torch::Tensor loss = inner(m, x, loss_of);
      EXPECT_TRUE(m.is_training());  // the hook leaves train mode as it found it
      EXPECT_TRUE(torch::isfinite(loss).item<bool>());
      return loss;
    };
  }
};

class TinyAdversarialTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!DataAvailable()) return;
    torch::set_num_threads(1);
    train_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "train"));
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete test_;
    train_ = test_ = nullptr;
  }
  // Tiny standard models (seconds), for the inner loop on trained weights.
  static TrainOptions Tiny(int64_t batch) {
    TrainOptions o;
    o.epochs = 1;
    o.batch_size = batch;
    o.max_train = 512;
    o.max_test = 200;
    o.validation_size = 500;
    return o;
  }
  static CaptionerTrainOptions TinyCaptioner() {
    CaptionerTrainOptions cap;
    cap.config.channels = 16;
    cap.config.embed = 8;
    cap.config.hidden = 16;
    cap.config.attention = 8;
    cap.train_scenes = 64;
    cap.test_scenes = 8;
    cap.encoder_epochs = 1;
    cap.max_len = 12;
    return cap;
  }
  static DetectorTrainOptions TinyDetector() {
    DetectorTrainOptions det;
    det.config.width = 16;
    det.train_scenes = 64;
    det.test_scenes = 8;
    return det;
  }
  void SetUp() override {
    if (train_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  static ImageSet* train_;
  static ImageSet* test_;
};
ImageSet* TinyAdversarialTraining::train_ = nullptr;
ImageSet* TinyAdversarialTraining::test_ = nullptr;

TEST_F(TinyAdversarialTraining, PgdStaysWithinEpsilonAndRaisesTheExitLoss) {
  TrainResult r = TrainMultiExit(*train_, *test_, Tiny(64));
  const torch::Tensor x = ImagesTensor(*test_, 0, 32), y = LabelsTensor(*test_, 0, 32);
  const BatchLoss task = [&](const torch::Tensor& in) {
    torch::Tensor loss = torch::zeros({});
    for (const torch::Tensor& l : r.model->ForwardAll(in)) {
      loss = loss + torch::nn::functional::cross_entropy(l, y);
    }
    return loss;
  };
  const AdversarialOptions o;  // 8/255, 2/255, 10 steps
  ExpectInnerLoopWorks(MakeInnerObjective("multi_exit_cnn", o, *r.model, task), x, o);
  for (auto& p : r.model->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST_F(TinyAdversarialTraining, EfficiencyObjectivesMoveTheWayTheirAttacksDo) {
  const AdversarialOptions o = Fast(AdversarialMode::kEfficiency, 10);
  const BatchLoss unused = [](const torch::Tensor&) { return torch::zeros({}); };
  {
    TrainResult r = TrainMultiExit(*train_, *test_, Tiny(64));
    InnerObjective deepsloth = MakeInnerObjective("multi_exit_cnn", o, *r.model, unused);
    EXPECT_EQ(deepsloth.direction, -1.0);
    ExpectInnerLoopWorks(deepsloth, ImagesTensor(*test_, 0, 32), o);
  }
  SceneGenerator gen(*test_, kSceneTestSeed);
  const torch::Tensor scenes = SceneImages(MakeScenes(gen, 0, 8));
  {
    TrainOptions t = Tiny(32);
    t.lr = 2e-3;
    t.epochs = 3;
    DetectorTrainOptions det = TinyDetector();
    det.train_scenes = 256;  // enough for scores to leave 0 (a flat objective otherwise)
    Detector model(std::dynamic_pointer_cast<DetectorImpl>(
        TrainDetector(*train_, *test_, t, det).module));
    model->eval();
    InnerObjective overload = MakeInnerObjective("detector", o, *model, unused);
    EXPECT_EQ(overload.direction, 1.0);
    ExpectInnerLoopWorks(overload, scenes, o);
  }
  {
    TrainOptions t = Tiny(32);
    t.lr = 3e-3;
    Captioner model(std::dynamic_pointer_cast<CaptionerImpl>(
        TrainCaptioner(*train_, *test_, t, TinyCaptioner()).module));
    model->eval();
    AdversarialOptions nicg_options = o;
    nicg_options.max_len = TinyCaptioner().max_len;
    InnerObjective nicg = MakeInnerObjective("captioner", nicg_options, *model, unused);
    EXPECT_EQ(nicg.direction, -1.0);
    ExpectInnerLoopWorks(nicg, scenes, nicg_options);
  }
}

TEST_F(TinyAdversarialTraining, MultiExitCnnTrainsOnEveryBatchAndDiffersFromStandard) {
  TrainOptions o = Tiny(128);
  TrainResult standard = TrainMultiExit(*train_, *test_, o);
  CountingHook hook{MakeAdversarialTrainingHook("multi_exit_cnn", Fast(AdversarialMode::kPgd, 2))};
  o.adversarial = hook.Wrap();
  TrainResult adversarial = TrainMultiExit(*train_, *test_, o);
  EXPECT_EQ(*hook.calls, 4);  // 512 / 128 batches
  auto a = standard.model->parameters(), b = adversarial.model->parameters();
  ASSERT_EQ(a.size(), b.size());
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += (a[i] - b[i]).abs().sum().item<double>();
  EXPECT_GT(diff, 0.0);
  EXPECT_EQ(adversarial.meta.exit_accuracy.size(), standard.meta.exit_accuracy.size());

  CountingHook efficiency{
      MakeAdversarialTrainingHook("multi_exit_cnn", Fast(AdversarialMode::kEfficiency, 2))};
  o.adversarial = efficiency.Wrap();
  TrainMultiExit(*train_, *test_, o);
  EXPECT_EQ(*efficiency.calls, 4);
}

TEST_F(TinyAdversarialTraining, CaptionerDecoderPhaseTrainsOnAdversarialImages) {
  TrainOptions o = Tiny(32);
  o.lr = 3e-3;
  const CaptionerTrainOptions cap = TinyCaptioner();
  AdversarialOptions at = Fast(AdversarialMode::kEfficiency, 1);
  at.max_len = cap.max_len;
  CountingHook hook{MakeAdversarialTrainingHook("captioner", at)};
  o.adversarial = hook.Wrap();
  TrainedModel t = TrainCaptioner(*train_, *test_, o, cap);
  EXPECT_EQ(*hook.calls, 2);  // decoder phase only: 64 / 32 batches
  EXPECT_GT(t.meta.stats.at("mean_steps"), 0.0);
}

TEST_F(TinyAdversarialTraining, DetectorTrainsOnEveryBatchAndSavesTheLabel) {
  TrainOptions o = Tiny(32);
  o.lr = 2e-3;
  const AdversarialOptions at = Fast(AdversarialMode::kPgd, 2);
  CountingHook hook{MakeAdversarialTrainingHook("detector", at)};
  o.adversarial = hook.Wrap();
  TrainedModel t = TrainDetector(*train_, *test_, o, TinyDetector());
  EXPECT_EQ(*hook.calls, 2);
  t.meta.adversarial = AdversarialLabel("detector", at);
  const std::string path =
      (std::filesystem::temp_directory_path() / "effrobust_at_detector_test.pt").string();
  SaveModel(path, *t.module, t.meta, true);
  EXPECT_EQ(LoadDetector(path).meta.adversarial, t.meta.adversarial);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".json");
}

}  // namespace
}  // namespace effrobust
