// The grid detector's mechanics (config round trip, candidate shapes and
// gradients, threshold and NMS in Detect, checkpoints) and a tiny detector
// trained once per binary on Fashion-MNIST scenes.
#include "models/detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "common/error.h"
#include "models/captioner_trainer.h"
#include "models/detector_trainer.h"

namespace effrobust {
namespace {

DetectorConfig Small() {
  DetectorConfig c;
  c.width = 16;
  return c;
}

TEST(DetectorConfigTest, RoundTripsThroughArchConfig) {
  DetectorConfig c;
  c.classes = 7;
  c.width = 24;
  c.anchor = 12.5;
  std::map<std::string, double> arch = c.ToArchConfig();
  EXPECT_EQ(arch.count("channels"), 0u);  // would shadow ModelConfig::channels
  DetectorConfig back = DetectorConfig::FromArchConfig(32, arch);
  EXPECT_EQ(back.image_size, 32);
  EXPECT_EQ(back.classes, 7);
  EXPECT_EQ(back.width, 24);
  EXPECT_DOUBLE_EQ(back.anchor, 12.5);
}

TEST(DetectorConfigTest, MissingKeyThrowsModelError) {
  std::map<std::string, double> arch = DetectorConfig().ToArchConfig();
  arch.erase("anchor");
  EXPECT_THROW(DetectorConfig::FromArchConfig(64, arch), ModelError);
}

TEST(DetectorConfigTest, BadConfigsThrowModelError) {
  struct Case {
    const char* what;
    int64_t size, classes, width;
    double anchor;
  };
  for (const Case& c :
       {Case{"size not divisible by 8", 60, 10, 16, 20},
        Case{"width not divisible by 4", 64, 10, 18, 20}, Case{"no classes", 64, 0, 16, 20},
        Case{"zero anchor", 64, 10, 16, 0}, Case{"negative anchor", 64, 10, 16, -3}}) {
    DetectorConfig cfg;
    cfg.image_size = c.size;
    cfg.classes = c.classes;
    cfg.width = c.width;
    cfg.anchor = c.anchor;
    EXPECT_THROW(Detector{cfg}, ModelError) << c.what;
  }
}

TEST(DetectorTest, CandidatesHaveOneBoxPerCellAndCarryGradients) {
  torch::manual_seed(1);
  Detector m(Small());
  torch::Tensor x = torch::rand({2, 1, 64, 64}).requires_grad_(true);
  DetectorCandidates c = m->RawCandidates(x);
  EXPECT_EQ(c.scores.sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(c.labels.sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(c.boxes.sizes(), (std::vector<int64_t>{2, 64, 4}));
  EXPECT_EQ(c.class_probs.sizes(), (std::vector<int64_t>{2, 64, 10}));
  EXPECT_TRUE(torch::allclose(c.scores, c.objectness * std::get<0>(c.class_probs.max(2))));
  // Each box's centre lies in its own cell (row-major, stride 8).
  torch::Tensor cx = (c.boxes.select(2, 0) + c.boxes.select(2, 2)) / 2;
  torch::Tensor cy = (c.boxes.select(2, 1) + c.boxes.select(2, 3)) / 2;
  torch::Tensor cell = torch::arange(64);
  EXPECT_TRUE(torch::equal(torch::floor(cx / 8).to(torch::kInt64), (cell % 8).expand({2, 64})));
  EXPECT_TRUE(torch::equal(torch::floor(cy / 8).to(torch::kInt64),
                           torch::div(cell, 8, "floor").expand({2, 64})));
  c.scores.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0);
}

TEST(DetectorTest, DetectKeepsOnlyConfidentCandidatesAndRespectsMaxDetections) {
  torch::manual_seed(2);
  Detector m(Small());
  m->eval();
  torch::Tensor x = torch::rand({3, 1, 64, 64});
  DetectOptions all;
  all.conf_threshold = 0;
  DetectionBatch everything = m->Detect(x, all);
  ASSERT_EQ(everything.boxes.size(), 3u);
  for (int64_t n : everything.candidates) EXPECT_EQ(n, 64);
  EXPECT_GE(everything.network_seconds, 0);
  EXPECT_GE(everything.nms_seconds, 0);

  torch::Tensor scores;
  {
    torch::NoGradGuard no_grad;
    scores = m->RawCandidates(x).scores;
  }
  DetectOptions o;
  o.conf_threshold = scores.median().item<float>();
  DetectionBatch some = m->Detect(x, o);
  for (size_t i = 0; i < some.boxes.size(); ++i) {
    EXPECT_EQ(some.candidates[i],
              scores[static_cast<int64_t>(i)].ge(o.conf_threshold).sum().item<int64_t>());
    EXPECT_LE(static_cast<int64_t>(some.boxes[i].size()), some.candidates[i]);
    for (const Detection& d : some.boxes[i]) EXPECT_GE(d.score, o.conf_threshold);
  }
  o.conf_threshold = 0;
  o.nms.max_detections = 2;
  for (const auto& boxes : m->Detect(x, o).boxes) EXPECT_LE(boxes.size(), 2u);
}

// The detections of the pre-interface DetectorImpl::Detect, written out:
// per image, the cells scoring >= the threshold in cell order, the
// max_candidates best of them if capped, then NMS.
std::vector<std::vector<Detection>> ReferenceDetect(Detector& m, const torch::Tensor& x,
                                                    const DetectOptions& o) {
  torch::NoGradGuard no_grad;
  const DetectorCandidates c = m->Decode(m->Forward(x));
  std::vector<std::vector<Detection>> out;
  for (int64_t i = 0; i < x.size(0); ++i) {
    std::vector<Detection> candidates;
    for (int64_t j = 0; j < c.scores.size(1); ++j) {
      const float s = c.scores[i][j].item<float>();
      if (!(s >= o.conf_threshold)) continue;
      Detection d;
      d.x0 = c.boxes[i][j][0].item<float>();
      d.y0 = c.boxes[i][j][1].item<float>();
      d.x1 = c.boxes[i][j][2].item<float>();
      d.y1 = c.boxes[i][j][3].item<float>();
      d.score = s;
      d.label = c.labels[i][j].item<int64_t>();
      candidates.push_back(d);
    }
    if (o.max_candidates > 0 && static_cast<int64_t>(candidates.size()) > o.max_candidates) {
      std::partial_sort(candidates.begin(), candidates.begin() + o.max_candidates,
                        candidates.end(),
                        [](const Detection& a, const Detection& b) { return a.score > b.score; });
      candidates.resize(static_cast<size_t>(o.max_candidates));
    }
    out.push_back(Nms(candidates, o.nms));
  }
  return out;
}

TEST(DetectorTest, DetectThroughTheDetectionVictimEqualsThresholdAndNmsOfTheCells) {
  torch::manual_seed(4);
  Detector m(Small());
  m->eval();
  const torch::Tensor x = torch::rand({3, 1, 64, 64});
  DetectionVictim& victim = *m;
  float median = 0;
  {
    torch::NoGradGuard no_grad;
    median = m->RawCandidates(x).scores.median().item<float>();  // about half the cells pass
  }
  for (const int64_t cap : {int64_t{0}, int64_t{5}}) {
    DetectOptions o;
    o.conf_threshold = median;
    o.max_candidates = cap;
    const DetectionBatch got = victim.Detect(x, o);
    const std::vector<std::vector<Detection>> want = ReferenceDetect(m, x, o);
    ASSERT_EQ(got.boxes.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got.boxes[i].size(), want[i].size()) << "cap " << cap << " image " << i;
      for (size_t k = 0; k < want[i].size(); ++k) {
        const Detection &a = got.boxes[i][k], &b = want[i][k];
        EXPECT_TRUE(a.x0 == b.x0 && a.y0 == b.y0 && a.x1 == b.x1 && a.y1 == b.y1 &&
                    a.score == b.score && a.label == b.label)
            << "cap " << cap << " image " << i << " box " << k;
      }
    }
  }
  EXPECT_GT(ReferenceDetect(m, x, DetectOptions{median}).front().size(), 1u);
  EXPECT_EQ(victim.image_size(), 64);
  EXPECT_EQ(victim.in_channels(), 1);
  EXPECT_EQ(victim.classes(), 10);
  EXPECT_TRUE(torch::equal(victim.CandidateFeatures(x), m->Forward(x)));
}

TEST(DetectorTest, CheckpointRoundTrip) {
  torch::manual_seed(3);
  Detector m(Small());
  m->eval();
  ModelMetadata meta;
  meta.name = "detector-test";
  meta.arch = kDetectorArch;
  meta.dataset = kScenesDataset;
  meta.config.in_channels = 1;
  meta.config.image_size = 64;
  meta.config.num_classes = 10;
  meta.config.channels.clear();
  meta.arch_config = m->config().ToArchConfig();
  const std::string path =
      (std::filesystem::temp_directory_path() / "effrobust_detector_test.pt").string();
  SaveModel(path, *m, meta, true);
  LoadedDetector loaded = LoadDetector(path);
  torch::Tensor x = torch::rand({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(m->RawCandidates(x).boxes, loaded.model->RawCandidates(x).boxes));
  meta.arch = "captioner";
  SaveModel(path, *m, meta, true);
  EXPECT_THROW(LoadDetector(path), ModelError);
  meta.arch = kDetectorArch;
  meta.arch_config["width"] = 6;
  SaveModel(path, *m, meta, true);
  try {
    LoadDetector(path);
    ADD_FAILURE() << "a width of 6 loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".json");
}

class TrainedDetector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) return;
    torch::set_num_threads(1);
    ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
    ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
    TrainOptions o;
    o.epochs = 4;
    o.batch_size = 64;
    o.lr = 2e-3;
    o.seed = 3;
    DetectorTrainOptions det;
    det.config.width = 32;
    det.train_scenes = 2500;  // about 15 s on one core
    det.test_scenes = 200;
    TrainedModel t = TrainDetector(train, test, o, det);
    stats_ = new std::map<std::string, double>(t.meta.stats);
    model_ = new Detector(std::dynamic_pointer_cast<DetectorImpl>(t.module));
    SceneGenerator g(test, kSceneTestSeed);
    scenes_ = new std::vector<Scene>(MakeScenes(g, 0, 50));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete scenes_;
    delete stats_;
    model_ = nullptr;
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  static Detector* model_;
  static std::vector<Scene>* scenes_;
  static std::map<std::string, double>* stats_;
};
Detector* TrainedDetector::model_ = nullptr;
std::vector<Scene>* TrainedDetector::scenes_ = nullptr;
std::map<std::string, double>* TrainedDetector::stats_ = nullptr;

TEST_F(TrainedDetector, BeatsALowApBarOnTestScenes) {
  // An untrained detector scores about 0 (no box above the threshold); this
  // fixture reaches about 0.3.
  EXPECT_GT(stats_->at("ap50"), 0.15);
  EXPECT_LE(stats_->at("ap75"), stats_->at("ap50"));
  EXPECT_GT(stats_->at("mean_boxes"), 1);
  EXPECT_LT(stats_->at("mean_boxes"), 10);
}

TEST_F(TrainedDetector, DetectOutputRespectsThresholdAndNms) {
  for (float threshold : {0.25f, 0.5f, 0.75f}) {
    DetectOptions o;
    o.conf_threshold = threshold;
    DetectionBatch d = (*model_)->Detect(SceneImages(*scenes_), o);
    for (const auto& boxes : d.boxes) {
      for (size_t i = 0; i < boxes.size(); ++i) {
        EXPECT_GE(boxes[i].score, threshold);
        if (i > 0) EXPECT_LE(boxes[i].score, boxes[i - 1].score);
        for (size_t j = 0; j < i; ++j) {
          if (boxes[i].label == boxes[j].label) EXPECT_LE(IoU(boxes[i], boxes[j]), 0.45f);
        }
      }
    }
  }
}

TEST_F(TrainedDetector, HigherThresholdKeepsNoMoreBoxes) {
  double previous = 1e9;
  for (float threshold : {0.25f, 0.5f, 0.75f}) {
    DetectOptions o;
    o.conf_threshold = threshold;
    const double boxes = EvaluateDetector(*model_, *scenes_, o).mean_boxes;
    EXPECT_LE(boxes, previous);
    previous = boxes;
  }
}

}  // namespace
}  // namespace effrobust
