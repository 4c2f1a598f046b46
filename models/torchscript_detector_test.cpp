// Tests for TorchScript detectors: modules scripted at test time by
// tests/support/make_torchscript_detector.py (Debian's python3-torch), a
// small trained grid detector plus broken variants; the contract checks at
// load, effrobust's threshold + NMS on the scripted candidates, the input
// stage, and the D3 attacks raising the candidates as on the built-in
// detector (attacks/d3_attacks_test.cpp).
#include "models/torchscript_detector.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "attacks/detector_attack_util.h"
#include "attacks/overload.h"
#include "attacks/phantom_sponge.h"
#include "common/error.h"
#include "data/fashion_mnist.h"
#include "data/mot_sequence.h"
#include "data/sequences.h"
#include "models/detect_and_track.h"
#include "models/torchscript_victim.h"
#include "tests/support/scripted_models.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

class TorchScriptDetectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch()) return;
    torch::set_num_threads(1);
    dir_ = new TempDir("torchscript-detector");
    const std::string data = DefaultFashionMnistDir();
    have_data_ = std::filesystem::exists(data + "/t10k-images-idx3-ubyte.gz");
    made_ = test::RunModelScript("make_torchscript_detector.py", dir_->path(), have_data_ ? data : "",
                                 dir_->File("make.log"));
    if (have_data_) {
      // Frames of fashion-mnist-sequences test sequences (what D3 units read).
      const ImageSet test = LoadFashionMnist(data, "test");
      SequenceOptions so;
      so.frames = 4;
      SequenceGenerator g(test, kSequenceTestSeed, so);
      std::vector<torch::Tensor> frames;
      for (int64_t i = 0; i < 2; ++i) frames.push_back(SequenceFrames(g.Make(i)));
      frames_ = new torch::Tensor(torch::cat(frames, 0));  // [8, 1, 64, 64]
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete frames_;
    dir_ = nullptr;
    frames_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "/usr/bin/python3 has no torch (python3-torch)";
    ASSERT_TRUE(made_) << "make_torchscript_detector.py failed; see " << dir_->File("make.log");
  }

  static std::string File(const std::string& name) { return dir_->File(name); }

  // The ModelError message of loading `name` for `dataset`, or "" if it loads.
  static std::string LoadError(const std::string& name, const std::string& dataset = "") {
    try {
      LoadTorchScriptDetector(File(name), dataset);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "";
  }

  // Mean candidates per image with score >= 0.25.
  static double Candidates(DetectionVictim& model, const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    return CountAbove(model.RawCandidates(x).scores, 0.25)
        .to(torch::kFloat64)
        .mean()
        .item<double>();
  }

  static TempDir* dir_;
  static bool made_;
  static bool have_data_;
  static torch::Tensor* frames_;
};
TempDir* TorchScriptDetectorTest::dir_ = nullptr;
bool TorchScriptDetectorTest::made_ = false;
bool TorchScriptDetectorTest::have_data_ = false;
torch::Tensor* TorchScriptDetectorTest::frames_ = nullptr;

TEST_F(TorchScriptDetectorTest, LoadsAScriptedDetectorWithItsDeclaredSizeAndClasses) {
  EXPECT_TRUE(IsTorchScriptVictimFile(File("detector.pt")));
  EXPECT_EQ(TorchScriptFamilyOf(File("detector.pt")), "detection");
  std::unique_ptr<DetectionVictim> d = LoadTorchScriptDetector(File("detector.pt"), "");
  EXPECT_EQ(d->image_size(), 64);
  EXPECT_EQ(d->in_channels(), 1);
  EXPECT_EQ(d->classes(), 10);
  std::unique_ptr<DetectionVictim> p =
      LoadTorchScriptDetector(File("pedestrian.pt"), kMot17Dataset);
  EXPECT_EQ(p->image_size(), 48);
  EXPECT_EQ(p->classes(), 1);
  for (const auto& t : d->module().parameters()) EXPECT_FALSE(t.requires_grad());
  EXPECT_FALSE(d->module().is_training());
}

TEST_F(TorchScriptDetectorTest, ContractErrorsNameTheFileAndWhatIsMissingOrWrong) {
  struct Case {
    std::string file;
    std::string dataset;
    std::string message;  // a substring of the error
  };
  const std::vector<Case> cases = {
      {"det_no_method.pt", "",
       "det_no_method.pt' (family detection): missing method 'forward_candidates(self, images: "
       "Tensor) -> Tuple[Tensor, Tensor, Tensor]'"},
      {"det_bad_shape.pt", "",
       "forward_candidates class_probs has shape [2, 64, 5], expected [2, 64, 10]"},
      {"det_logits.pt", "",
       "forward_candidates objectness must be in [0, 1] (probabilities, not logits)"},
      {"det_rgb.pt", "",
       "attribute 'in_channels' is 3, expected 1 (the D3 pipeline's frames are "
       "grey)"},
      {"det_two_outputs.pt", "",
       "method 'forward_candidates' must return a tuple of 3 elements, got 2 elements"},
      {"det_wrong_family.pt", "", "declares effrobust_family 'early_exit', not 'detection'"},
      {"pedestrian.pt", kSequencesDataset,
       "declares 1x48x48 inputs and 1 classes, but dataset 'fashion-mnist-sequences' has 1x64x64 "
       "frames and 10 classes"},
      {"detector.pt", "cifar10",
       "dataset 'cifar10' is not one a detector runs on (allowed: fashion-mnist-sequences, mot17)"},
      {"missing.pt", "", "missing.pt' is missing"},
      {"make.log", "", "cannot be loaded by torch::jit::load"},
  };
  for (const Case& c : cases) {
    const std::string e = LoadError(c.file, c.dataset);
    EXPECT_NE(e.find(c.message), std::string::npos) << c.file << ": " << e;
  }
  // A 1-class detector of any size runs on mot17; the Fashion-MNIST one on both.
  EXPECT_EQ(LoadError("pedestrian.pt", kMot17Dataset), "");
  EXPECT_EQ(LoadError("detector.pt", kSequencesDataset), "");
  EXPECT_EQ(LoadError("detector.pt", kMot17Dataset), "");
}

TEST_F(TorchScriptDetectorTest, DetectThresholdsAndSuppressesTheScriptedCandidates) {
  std::unique_ptr<DetectionVictim> d = LoadTorchScriptDetector(File("detector.pt"));
  const torch::Tensor x = have_data_ ? *frames_ : torch::rand({4, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const DetectorCandidates c = d->RawCandidates(x);
  ASSERT_EQ(c.scores.dim(), 2);
  EXPECT_TRUE(torch::allclose(c.scores, c.objectness * std::get<0>(c.class_probs.max(2))));
  DetectOptions o;
  o.conf_threshold = 0.25f;
  const DetectionBatch b = d->Detect(x, o);
  const torch::Tensor above = CountAbove(c.scores, 0.25);
  for (int64_t i = 0; i < x.size(0); ++i) {
    EXPECT_EQ(b.candidates[static_cast<size_t>(i)], above[i].item<int64_t>());
    EXPECT_LE(static_cast<int64_t>(b.boxes[static_cast<size_t>(i)].size()),
              b.candidates[static_cast<size_t>(i)]);
    for (const Detection& det : b.boxes[static_cast<size_t>(i)]) EXPECT_GE(det.score, 0.25f);
  }
}

TEST_F(TorchScriptDetectorTest, CandidateFeaturesAreObjectnessClassProbsAndBoxesOverSize) {
  std::unique_ptr<DetectionVictim> d = LoadTorchScriptDetector(File("detector.pt"));
  const torch::Tensor x = torch::rand({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const DetectorCandidates c = d->RawCandidates(x);
  const torch::Tensor f = d->CandidateFeatures(x);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, c.scores.size(1), 1 + 10 + 4}));
  EXPECT_TRUE(torch::equal(f.select(2, 0), c.objectness));
  EXPECT_TRUE(torch::equal(f.slice(2, 1, 11), c.class_probs));
  EXPECT_TRUE(torch::allclose(f.slice(2, 11) * 64.0, c.boxes));
}

TEST_F(TorchScriptDetectorTest, InputStageRunsBeforeTheScriptedModule) {
  std::unique_ptr<DetectionVictim> d = LoadTorchScriptDetector(File("detector.pt"));
  const torch::Tensor x = torch::rand({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const torch::Tensor zeros = d->RawCandidates(torch::zeros_like(x)).scores;
  {
    InputStageGuard<DetectionVictim> stage(
        *d, [](const torch::Tensor& t) { return torch::zeros_like(t); });
    EXPECT_TRUE(torch::equal(d->RawCandidates(x).scores, zeros));
  }
  EXPECT_FALSE(torch::equal(d->RawCandidates(x).scores, zeros));
}

TEST_F(TorchScriptDetectorTest, OverloadAndPhantomSpongeRaiseTheScriptedCandidates) {
  if (!have_data_) GTEST_SKIP() << "Fashion-MNIST not installed";
  std::unique_ptr<DetectionVictim> d = LoadTorchScriptDetector(File("detector.pt"));
  const torch::Tensor& x = *frames_;
  const double clean = Candidates(*d, x);

  OverloadOptions oo;
  oo.iterations = 40;
  const torch::Tensor adv = Overload(*d, x, oo);
  const double overloaded = Candidates(*d, adv);
  std::printf("scripted detector, overload: %.2f -> %.2f candidates per frame\n", clean,
              overloaded);
  EXPECT_GE(overloaded, 1.5 * std::max(clean, 1.0));
  EXPECT_LE((adv - x).abs().max().item<double>(), oo.eps + 1e-6);
  EXPECT_GE(adv.min().item<double>(), 0.0);
  EXPECT_LE(adv.max().item<double>(), 1.0);

  PhantomSpongeOptions po;
  po.iterations = 60;
  const torch::Tensor sponged = PhantomSponge(*d, x, po);
  const double lifted = Candidates(*d, sponged);
  std::printf("scripted detector, phantom sponge: %.2f -> %.2f candidates per frame\n", clean,
              lifted);
  EXPECT_GE(lifted, 1.5 * std::max(clean, 1.0));
  EXPECT_LE((sponged - x).flatten(1).norm(2, 1).max().item<double>(), po.eps + 1e-4);
}

}  // namespace
}  // namespace effrobust
