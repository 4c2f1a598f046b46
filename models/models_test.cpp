// Tests for the multi-exit CNN, checkpoints and the trainer. A small model
// is trained once per test binary (1 epoch on 6000 Fashion-MNIST images).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "common/error.h"
#include "tests/support/temp_dir.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "evaluation/early_exit.h"
#include "models/checkpoint.h"
#include "models/multi_exit_cnn.h"
#include "models/multi_exit_victim.h"
#include "models/trainer.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;

template <typename F>
std::string ThrownModelError(F f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

bool DataAvailable() {
  return fs::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz");
}

// One small model trained for the whole binary.
class TrainedModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!DataAvailable()) return;
    train_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "train"));
    test_ = new ImageSet(LoadFashionMnist(DefaultFashionMnistDir(), "test"));
    TrainOptions opt;
    opt.name = "fixture";
    opt.epochs = 1;
    opt.max_train = 6000;
    opt.max_test = 1000;
    opt.validation_size = 1000;
    opt.seed = 7;
    opt.batch_size = 32;
    result_ = new TrainResult(TrainMultiExit(*train_, *test_, opt));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete train_;
    delete test_;
    result_ = nullptr;
    train_ = test_ = nullptr;
  }
  void SetUp() override {
    if (result_ == nullptr) GTEST_SKIP() << "Fashion-MNIST not installed";
  }
  static ImageSet* train_;
  static ImageSet* test_;
  static TrainResult* result_;
};
ImageSet* TrainedModel::train_ = nullptr;
ImageSet* TrainedModel::test_ = nullptr;
TrainResult* TrainedModel::result_ = nullptr;

// --- tensor view (data/tensor_view.h) -----------------------------------------

TEST(TensorView, ImagesAreScaledToUnitRangeAndLabelsCopied) {
  ImageSet s;
  s.count = 3;
  s.channels = 1;
  s.height = 1;
  s.width = 2;
  s.num_classes = 10;
  s.pixels = {0, 255, 51, 102, 153, 204};
  s.labels = {4, 5, 6};
  auto x = ImagesTensor(s, 1, 3);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{2, 1, 1, 2}));
  EXPECT_EQ(x.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), 0.2f);
  EXPECT_FLOAT_EQ(x[1][0][0][1].item<float>(), 0.8f);
  auto y = LabelsTensor(s, 1, 3);
  EXPECT_EQ(y.scalar_type(), torch::kInt64);
  EXPECT_EQ(y[0].item<int64_t>(), 5);
  EXPECT_EQ(y[1].item<int64_t>(), 6);
  EXPECT_EQ(ImagesTensor(s, 0, 3).max().item<float>(), 1.0f);
  EXPECT_EQ(ImagesTensor(s, 3, 3).size(0), 0);
}

TEST(TensorView, RangeOutsideTheSetIsDataError) {
  ImageSet s;
  s.count = 2;
  s.channels = s.height = s.width = 1;
  s.pixels = {1, 2};
  s.labels = {0, 1};
  EXPECT_THROW(ImagesTensor(s, 0, 3), DataError);
  EXPECT_THROW(ImagesTensor(s, -1, 1), DataError);
  EXPECT_THROW(LabelsTensor(s, 2, 1), DataError);
}

// --- architecture -----------------------------------------------------------

TEST(MultiExitCnn, ForwardAllGivesOneLogitTensorPerExit) {
  MultiExitCnn m;
  m->eval();
  auto outs = m->ForwardAll(torch::rand({3, 1, 28, 28}));
  ASSERT_EQ(outs.size(), 5u);
  EXPECT_EQ(m->num_exits(), 5);
  for (const auto& o : outs) {
    EXPECT_EQ(o.size(0), 3);
    EXPECT_EQ(o.size(1), 10);
  }
}

TEST(MultiExitCnn, InternalExitLogitsEqualForwardWithoutTheFinalExitAndCarryGradients) {
  torch::manual_seed(3);
  MultiExitCnn m;
  m->eval();
  MultiExitVictim victim(m, {});
  const torch::Tensor x = torch::rand({4, 1, 28, 28});
  const std::vector<torch::Tensor> all = victim.Forward(x, false).exit_logits;
  const torch::Tensor leaf = x.clone().requires_grad_(true);
  const std::vector<torch::Tensor> internal = victim.InternalExitLogits(leaf);
  ASSERT_EQ(internal.size(), all.size() - 1);
  for (size_t i = 0; i < internal.size(); ++i) {
    EXPECT_TRUE(torch::equal(internal[i].detach(), all[i])) << "exit " << i;
  }
  // The default (VictimModel's) drops the final exit of Forward: same values.
  std::vector<torch::Tensor> by_default = victim.VictimModel::InternalExitLogits(x);
  ASSERT_EQ(by_default.size(), internal.size());
  EXPECT_TRUE(torch::equal(by_default.back(), internal.back().detach()));
  const torch::Tensor g = torch::autograd::grad({internal.back().sum()}, {leaf})[0];
  EXPECT_GT(g.abs().sum().item<double>(), 0.0);
  EXPECT_THROW(m->ForwardExits(x, 6), ModelError);
}

TEST(MultiExitCnn, ExitFlopsIncreaseAndLastIsFullCost) {
  MultiExitCnn m;
  auto f = m->ExitFlops();
  ASSERT_EQ(f.size(), 5u);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GT(f[i], f[i - 1]) << "exit " << i;
  // Full cost of the default network, counted by hand from the documented
  // rules (blocks 16-32-32-64-64, 2x2 max-pool after blocks 0 and 2: maps
  // 28-14-14-7-7; heads pool each map to 2x2).
  auto conv = [](double cout, double s, double cin) {
    const double e = cout * s * s;
    return e * 2 * 9 * cin + 2 * e + e;  // conv + BN + ReLU
  };
  auto head = [](double c, double window_sum_per_axis) {
    return 2 * window_sum_per_axis * window_sum_per_axis * c + 3 * c * 4 + 2 * c * 4 * 10 + 10;
  };
  double full = 0;
  full += conv(16, 28, 1) + 4 * 16 * 14 * 14 + head(16, 14);
  full += conv(32, 14, 16) + head(32, 14);
  full += conv(32, 14, 32) + 4 * 32 * 7 * 7 + head(32, 8);  // 7 -> 2: windows [0,4) [3,7)
  full += conv(64, 7, 32) + head(64, 8);
  full += conv(64, 7, 64) + head(64, 8);
  EXPECT_DOUBLE_EQ(f.back(), full);
}

TEST(MultiExitCnn, ExitFlopsOfTinyNetworkMatchHandCount) {
  MultiExitConfig c;
  c.image_size = 8;
  c.num_classes = 3;
  c.channels = {2, 4};
  MultiExitCnn m(c);
  auto f = m->ExitFlops();
  ASSERT_EQ(f.size(), 2u);
  // Block 0: conv 128*18 + BN 256 + ReLU 128 + 2x2 max-pool 4*(2*4*4);
  // head 0 (4x4 -> 2x2): max+avg pooling 2*(4*4*2) + mix 3*8 + linear 2*8*3+3.
  EXPECT_DOUBLE_EQ(f[0], 2304 + 256 + 128 + 128 + 64 + 24 + 51);
  // Block 1 (last, no pooling) at 4x4: conv 64*36 + BN 128 + ReLU 64;
  // head 1: pooling 2*(4*4*4) + mix 3*16 + linear 2*16*3+3.
  EXPECT_DOUBLE_EQ(f[1], f[0] + 2304 + 128 + 64 + 128 + 48 + 99);
}

TEST(MultiExitCnn, ForwardEarlyExitRejectsBatchesOfMoreThanOne) {
  MultiExitCnn m;
  m->eval();
  torch::NoGradGuard g;
  EXPECT_FALSE(ThrownModelError([&] { m->ForwardEarlyExit(torch::rand({2, 1, 28, 28}), 0.5); })
                   .empty());
}

TEST_F(TrainedModel, ForwardEarlyExitAgreesWithExitRuleOnForwardAll) {
  MultiExitCnn model = result_->model;
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = ImagesTensor(*test_, 0, 150);
  std::set<int> exits_seen;
  for (double q : {0.0, 0.5, 0.8, 0.95, 1.01}) {
    for (int64_t n = 0; n < x.size(0); ++n) {
      auto xn = x.slice(0, n, n + 1);
      auto outs = model->ForwardAll(xn);
      std::vector<double> conf;
      for (const auto& o : outs) conf.push_back(torch::softmax(o, 1).max().item<double>());
      const int expected = ExitIndex(conf, q);
      auto [exit, logits] = model->ForwardEarlyExit(xn, q);
      ASSERT_EQ(exit, expected) << "sample " << n << " q " << q;
      ASSERT_TRUE(torch::equal(logits, outs[exit])) << "sample " << n << " q " << q;
      exits_seen.insert(exit);
    }
  }
  // The comparison is only meaningful if several different exits were taken.
  EXPECT_GE(exits_seen.size(), 3u);
  EXPECT_TRUE(exits_seen.count(0));
  EXPECT_TRUE(exits_seen.count(model->num_exits() - 1));
}

// --- trainer ----------------------------------------------------------------

TEST_F(TrainedModel, MetadataHasPerExitAccuracyAndThresholds) {
  const ModelMetadata& m = result_->meta;
  ASSERT_EQ(m.exit_accuracy.size(), 5u);
  ASSERT_EQ(m.exit_flops.size(), 5u);
  EXPECT_EQ(m.full_accuracy, m.exit_accuracy.back());
  // 1 epoch on 6000 images: far better than chance (0.1) at every exit, and
  // the final exit better than the first.
  for (double a : m.exit_accuracy) EXPECT_GT(a, 0.4);
  EXPECT_GT(m.full_accuracy, 0.75);
  EXPECT_GT(m.full_accuracy, m.exit_accuracy.front());
  ASSERT_TRUE(m.thresholds.count("rad5"));
  ASSERT_TRUE(m.thresholds.count("rad15"));
  ASSERT_TRUE(m.threshold_val_accuracy.count("rad5"));
  for (const auto& [k, q] : m.thresholds) {
    EXPECT_GT(q, 0.0) << k;
    EXPECT_LE(q, 1.0) << k;
  }
  EXPECT_EQ(m.epochs, 1);
  EXPECT_EQ(m.seed, 7);
  EXPECT_EQ(m.name, "fixture");
  EXPECT_GT(m.train_seconds, 0.0);
  EXPECT_FALSE(m.created_at.empty());
  EXPECT_FALSE(result_->model->is_training());
  for (const auto& p : result_->model->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(TrainMultiExit, SmokeRunReportsProgressAndLearns) {
  if (!DataAvailable()) GTEST_SKIP() << "Fashion-MNIST not installed";
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  TrainOptions opt;
  opt.epochs = 2;
  opt.max_train = 3000;
  opt.max_test = 500;
  opt.validation_size = 500;
  std::vector<double> losses;
  int64_t last_batch = 0, per_epoch = 0;
  opt.progress = [&](int, int64_t batch, int64_t batches, double loss) {
    losses.push_back(loss);
    last_batch = batch;
    per_epoch = batches;
  };
  TrainResult r = TrainMultiExit(train, test, opt);
  EXPECT_EQ(per_epoch, 24);       // ceil(3000 / 128)
  EXPECT_EQ(last_batch, 24);      // called at the end of each epoch too
  ASSERT_EQ(losses.size(), 2u);  // 24 batches per epoch: once per epoch, at its end
  for (double l : losses) {
    EXPECT_TRUE(std::isfinite(l));
    EXPECT_GT(l, 0.0);
  }
  // (The IC loss weights ramp up during training, so the reported loss need
  // not fall; learning is checked on accuracy.)
  EXPECT_GT(r.meta.full_accuracy, 0.6);
  EXPECT_EQ(r.meta.exit_accuracy.size(), 5u);
}

TEST(TrainMultiExit, SameSeedGivesIdenticalParameters) {
  if (!DataAvailable()) GTEST_SKIP() << "Fashion-MNIST not installed";
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  TrainOptions opt;
  opt.epochs = 1;
  opt.max_train = 1000;
  opt.max_test = 200;
  opt.validation_size = 200;
  opt.seed = 3;
  TrainResult a = TrainMultiExit(train, test, opt);
  TrainResult b = TrainMultiExit(train, test, opt);
  opt.seed = 4;
  TrainResult c = TrainMultiExit(train, test, opt);
  auto pa = a.model->parameters(), pb = b.model->parameters(), pc = c.model->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool any_diff_c = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
    any_diff_c = any_diff_c || !torch::equal(pa[i], pc[i]);
  }
  EXPECT_TRUE(any_diff_c) << "a different seed gave the same model";
  EXPECT_EQ(a.meta.exit_accuracy, b.meta.exit_accuracy);
  EXPECT_EQ(a.meta.thresholds, b.meta.thresholds);
}

TEST(TrainMultiExit, RejectsValidationSplitLargerThanTrainingSet) {
  ImageSet tiny;
  tiny.count = 10;
  tiny.channels = 1;
  tiny.height = tiny.width = 28;
  tiny.num_classes = 10;
  tiny.pixels.assign(10 * 784, 0);
  tiny.labels.assign(10, 0);
  TrainOptions opt;  // validation_size 5000 > 10
  std::string msg = ThrownModelError([&] { TrainMultiExit(tiny, tiny, opt); });
  EXPECT_NE(msg.find("validation_size"), std::string::npos) << msg;
}

// --- checkpoints --------------------------------------------------------------

TEST_F(TrainedModel, SaveLoadRoundTripGivesIdenticalOutputsAndMetadata) {
  TempDir dir("models");
  const std::string path = dir.File("m.pt");
  SaveModel(path, result_->model, result_->meta);
  ASSERT_TRUE(fs::exists(path + ".json"));
  LoadedModel l = LoadModel(path, "multi_exit_cnn", "fashion-mnist");
  EXPECT_FALSE(l.model->is_training());
  torch::NoGradGuard no_grad;
  auto x = ImagesTensor(*test_, 0, 64);
  auto a = result_->model->ForwardAll(x);
  auto b = l.model->ForwardAll(x);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "exit " << i;
  EXPECT_EQ(MetadataToJson(l.meta), MetadataToJson(result_->meta));
  EXPECT_EQ(l.meta.thresholds, result_->meta.thresholds);
  EXPECT_EQ(l.meta.exit_accuracy, result_->meta.exit_accuracy);
  // The .json copy holds the same metadata.
  std::ifstream in(path + ".json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(MetadataToJson(MetadataFromJson(text)), MetadataToJson(result_->meta));
}

TEST_F(TrainedModel, SaveModelRefusesToOverwriteUnlessAsked) {
  TempDir dir("models");
  const std::string path = dir.File("m.pt");
  SaveModel(path, result_->model, result_->meta);
  std::string msg = ThrownModelError([&] { SaveModel(path, result_->model, result_->meta); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("overwrite"), std::string::npos) << msg;
  EXPECT_NO_THROW(SaveModel(path, result_->model, result_->meta, /*overwrite=*/true));
}

TEST_F(TrainedModel, LoadModelWithWrongDatasetNamesFileAndDatasets) {
  TempDir dir("models");
  const std::string path = dir.File("m.pt");
  SaveModel(path, result_->model, result_->meta);
  std::string msg = ThrownModelError([&] { LoadModel(path, "multi_exit_cnn", "cifar10"); });
  EXPECT_EQ(msg.rfind("[models]", 0), 0u) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("cifar10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fashion-mnist"), std::string::npos) << msg;
}

TEST_F(TrainedModel, LoadModelWithWrongArchNamesFileAndArch) {
  TempDir dir("models");
  const std::string path = dir.File("m.pt");
  SaveModel(path, result_->model, result_->meta);
  std::string msg = ThrownModelError([&] { LoadModel(path, "resnet56_sdn"); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("resnet56_sdn"), std::string::npos) << msg;
}

TEST(LoadModel, MissingFileIsModelErrorNamingIt) {
  std::string msg = ThrownModelError([] { LoadModel("/nonexistent/dir/model.pt"); });
  EXPECT_NE(msg.find("/nonexistent/dir/model.pt"), std::string::npos) << msg;
}

TEST(LoadModel, GarbageFileIsModelErrorNamingIt) {
  TempDir dir("models");
  const std::string path = dir.File("garbage.pt");
  std::ofstream(path) << "this is not a torch archive";
  std::string msg = ThrownModelError([&] { LoadModel(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(ModelMetadata, JsonRoundTripKeepsEveryField) {
  ModelMetadata m;
  m.name = "x \"quoted\"";
  m.dataset = "fashion-mnist";
  m.config.channels = {3, 5};
  m.config.image_size = 12;
  m.exit_accuracy = {0.1, 1.0 / 3.0};
  m.exit_flops = {1e9 / 7, 123456789.0};
  m.full_accuracy = 1.0 / 3.0;
  m.thresholds = {{"rad5", 0.85}, {"rad15", 0.7000000000000001}};
  m.threshold_val_accuracy = {{"rad5", 0.9}, {"rad15", 0.8}};
  m.seed = 42;
  m.epochs = 3;
  m.train_seconds = 12.5;
  m.created_at = "2026-11-25T18:30:01Z";
  m.vocabulary = {"<pad>", "<start>", "<end>", "<unk>", ",", "t-shirt", "\"q\"", "\u00e4"};
  ModelMetadata r = MetadataFromJson(MetadataToJson(m));
  EXPECT_EQ(r.vocabulary, m.vocabulary);
  EXPECT_EQ(r.name, m.name);
  EXPECT_EQ(r.arch, m.arch);
  EXPECT_EQ(r.dataset, m.dataset);
  EXPECT_EQ(r.config.channels, m.config.channels);
  EXPECT_EQ(r.config.image_size, 12);
  EXPECT_EQ(r.exit_accuracy, m.exit_accuracy);
  EXPECT_EQ(r.exit_flops, m.exit_flops);
  EXPECT_EQ(r.full_accuracy, m.full_accuracy);
  EXPECT_EQ(r.thresholds, m.thresholds);
  EXPECT_EQ(r.threshold_val_accuracy, m.threshold_val_accuracy);
  EXPECT_EQ(r.seed, 42);
  EXPECT_EQ(r.epochs, 3);
  EXPECT_EQ(r.train_seconds, 12.5);
  EXPECT_EQ(r.created_at, m.created_at);
}

TEST(ModelMetadata, MissingKeyIsModelErrorNamingTheKey) {
  ModelMetadata m;
  std::string json = MetadataToJson(m);
  const std::string key = "\"dataset\": \"fashion-mnist\",";
  const auto pos = json.find(key);
  ASSERT_NE(pos, std::string::npos) << json;
  json.erase(pos, key.size());
  std::string msg = ThrownModelError([&] { MetadataFromJson(json); });
  EXPECT_NE(msg.find("dataset"), std::string::npos) << msg;
}

}  // namespace
}  // namespace effrobust
