// Trains the grid detector on Fashion-MNIST scenes and prints what it
// achieved on the test scenes: AP at IoU 0.5 and 0.75, boxes per image at
// confidence thresholds 0.25 / 0.5 / 0.75 (NMS IoU 0.45, at most 500 boxes),
// network vs NMS time, and the training time: the numbers behind the
// detector's defaults (docs/results-d3.md).
// Usage: bench_detector [TRAIN_SCENES=20000] [EPOCHS=7] [THREADS=1] [OUT.pt]
//        bench_detector nms   (only the NMS cost against candidates)
//        bench_detector eval MODEL.pt   (the threshold table of a saved detector)
// Environment: WIDTH (backbone width, default 32), LR (2e-3), BATCH (64),
// TEST_SCENES (1000), BOX_WEIGHT (5). One thread: on the shared 2-core
// machine two threads trained 10x slower (docs/results-d3.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/log.h"
#include "data/fashion_mnist.h"
#include "models/detector_trainer.h"

using namespace effrobust;

namespace {

// NMS alone on n random 6 x 6 boxes of 10 classes on the 64 x 64 canvas
// (the many small boxes a sponge attack makes a detector emit): its cost
// against the number of candidates.
void NmsScaling(const NmsOptions& nms) {
  std::printf("NMS candidates  kept  IoU tests  ms\n");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> pos(0, 58), score(0, 1);
  for (int n : {64, 500, 2000, 8000}) {
    std::vector<Detection> candidates;
    for (int i = 0; i < n; ++i) {
      Detection d;
      d.x0 = pos(rng);
      d.y0 = pos(rng);
      d.x1 = d.x0 + 6;
      d.y1 = d.y0 + 6;
      d.score = score(rng);
      d.label = static_cast<int64_t>(rng() % 10);
      candidates.push_back(d);
    }
    int64_t tests = 0;
    const auto start = std::chrono::steady_clock::now();
    const size_t kept = Nms(candidates, nms, &tests).size();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("%14d  %4zu  %9lld  %.3f\n", n, kept, static_cast<long long>(tests), ms);
  }
}

// AP, boxes and time on `scenes` at confidence thresholds 0.25 / 0.5 / 0.75.
void ThresholdTable(Detector& model, const std::vector<Scene>& scenes, const DetectOptions& base) {
  std::printf("threshold  AP50   AP75   boxes/img  candidates/img  network ms/img  NMS ms/img\n");
  for (float threshold : {0.25f, 0.5f, 0.75f}) {
    DetectOptions d = base;
    d.conf_threshold = threshold;
    DetectorEval e = EvaluateDetector(model, scenes, d);
    const double per_image = 1000.0 / static_cast<double>(scenes.size());
    std::printf("%9.2f  %.3f  %.3f  %9.2f  %14.2f  %14.4f  %10.4f\n", threshold, e.ap50, e.ap75,
                e.mean_boxes, e.mean_candidates, e.network_seconds * per_image,
                e.nms_seconds * per_image);
  }
}

}  // namespace

int main(int argc, char** argv) {
  DetectorTrainOptions det;
  if (argc > 1 && std::string(argv[1]) == "nms") {
    NmsScaling(det.detect.nms);
    return 0;
  }
  if (argc > 2 && std::string(argv[1]) == "eval") {
    torch::set_num_threads(1);
    LoadedDetector loaded = LoadDetector(argv[2]);
    ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
    SceneGenerator gen(test, det.test_seed, det.scenes);
    ThresholdTable(loaded.model, MakeScenes(gen, 0, det.test_scenes), det.detect);
    return 0;
  }
  det.train_scenes = argc > 1 ? std::stoll(argv[1]) : 20000;
  if (const char* w = std::getenv("WIDTH")) det.config.width = std::stoll(w);
  if (const char* t = std::getenv("TEST_SCENES")) det.test_scenes = std::stoll(t);
  if (const char* b = std::getenv("BOX_WEIGHT")) det.box_weight = std::stod(b);
  TrainOptions o;
  o.name = "detector-fmnist-scenes";
  o.epochs = argc > 2 ? std::stoi(argv[2]) : 7;
  o.lr = 2e-3;
  o.batch_size = 64;
  if (const char* b = std::getenv("BATCH")) o.batch_size = std::stoll(b);
  if (const char* lr = std::getenv("LR")) o.lr = std::stod(lr);
  const int threads = argc > 3 ? std::stoi(argv[3]) : 1;
  torch::set_num_threads(threads);
  const double t0 = MonotonicSeconds();
  o.progress = [&](int epoch, int64_t b, int64_t batches, double loss) {
    std::printf("epoch %d batch %lld/%lld loss %.4f (%.0f s)\n", epoch + 1,
                static_cast<long long>(b), static_cast<long long>(batches), loss,
                MonotonicSeconds() - t0);
    std::fflush(stdout);
  };
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  TrainedModel t = TrainDetector(train, test, o, det);
  std::printf("%s\n", t.summary.c_str());
  std::printf(
      "width %lld, %lld train scenes, %d epochs, batch %lld, lr %g, %d threads: trained in "
      "%.0f s\n",
      static_cast<long long>(det.config.width), static_cast<long long>(det.train_scenes), o.epochs,
      static_cast<long long>(o.batch_size), o.lr, threads, t.meta.train_seconds);

  Detector model(std::dynamic_pointer_cast<DetectorImpl>(t.module));
  SceneGenerator gen(test, det.test_seed, det.scenes);
  const std::vector<Scene> scenes = MakeScenes(gen, 0, det.test_scenes);
  ThresholdTable(model, scenes, det.detect);
  NmsScaling(det.detect.nms);
  if (argc > 4) SaveModel(argv[4], *t.module, t.meta, true);
  return 0;
}
