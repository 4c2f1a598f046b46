// Small built-in D2/D3 victims for the integration tests, trained in
// seconds on Fashion-MNIST and saved as `effrobust train` would: a GRU
// captioner on fashion-mnist-scenes and a grid detector (width 16) on the
// scenes its sequences are made of. Header-only test support; links
// effrobust_models. Needs the Fashion-MNIST IDX files of
// DefaultFashionMnistDir().
#ifndef EFFROBUST_TESTS_SUPPORT_BUILTIN_FIXTURES_H_
#define EFFROBUST_TESTS_SUPPORT_BUILTIN_FIXTURES_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "data/fashion_mnist.h"
#include "models/captioner_trainer.h"
#include "models/checkpoint.h"
#include "models/detector_trainer.h"

namespace effrobust {
namespace test {

// Trains the captioner (`cell` "gru" or "lstm", 1 epoch over 320 scenes,
// decoding limit `max_len`) and saves it with its metadata at `path`.
inline void SaveTinyCaptioner(const std::string& path, int64_t max_len,
                              const std::string& cell = "gru") {
  torch::set_num_threads(2);
  const ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  const ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  TrainOptions o;
  o.name = "captioner-" + cell;
  o.epochs = 1;
  o.batch_size = 32;
  o.lr = 3e-3;
  o.seed = 7;
  CaptionerTrainOptions cap;
  cap.config.cell = cell;
  cap.config.channels = 16;
  cap.config.embed = 16;
  cap.config.hidden = 32;
  cap.config.attention = 16;
  cap.train_scenes = 320;
  cap.test_scenes = 16;
  cap.max_len = max_len;
  TrainedModel t = TrainCaptioner(train, test, o, cap);
  SaveModel(path, *t.module, t.meta, true);
}

// Trains the detector (1 epoch over 640 scenes) and saves it with its
// metadata at `path`.
inline void SaveTinyDetector(const std::string& path) {
  torch::set_num_threads(2);
  const ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  const ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  TrainOptions o;
  o.name = "detector";
  o.epochs = 1;
  o.batch_size = 64;
  o.lr = 2e-3;
  o.seed = 3;
  DetectorTrainOptions det;
  det.config.width = 16;
  det.train_scenes = 640;
  det.test_scenes = 16;
  TrainedModel t = TrainDetector(train, test, o, det);
  SaveModel(path, *t.module, t.meta, true);
}

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_BUILTIN_FIXTURES_H_
