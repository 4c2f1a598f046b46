// Training and evaluation of the grid detector (models/detector.h) on
// Fashion-MNIST scenes (data/scenes.h): train scenes draw items from the
// Fashion-MNIST train split (seed kSceneTrainSeed), test scenes from the
// test split (kSceneTestSeed). Each ground-truth item is assigned to the
// cell holding its tight box's centre (items never share a cell: they are
// 20 px apart). Loss per image, summed over cells and averaged over the
// batch: binary cross-entropy of objectness on every cell, plus on the
// responsible cells cross-entropy of the class and box_weight x L1 of the
// box (sigmoid(tx), sigmoid(ty) against the centre's offset in the cell,
// tw, th against log(size / anchor)). Adam. Evaluation: AP at IoU 0.5 and
// 0.75 (evaluation/average_precision.h) of Detect's boxes against the
// items' tight boxes, boxes per image, and network vs NMS time.
// Deterministic for a fixed seed and thread count; the caller sets torch's
// thread count.
#ifndef EFFROBUST_MODELS_DETECTOR_TRAINER_H_
#define EFFROBUST_MODELS_DETECTOR_TRAINER_H_

#include <string>
#include <vector>

#include "data/scenes.h"
#include "evaluation/average_precision.h"
#include "models/detector.h"
#include "models/trainer.h"

namespace effrobust {

// The arch name TrainDetector writes and LoadDetector loads.
inline constexpr char kDetectorArch[] = "detector";

struct DetectorTrainOptions {
  DetectorConfig config;         // image_size is set from the scenes
  SceneOptions scenes;           // canvas, item size, items per scene
  int64_t train_scenes = 20000;  // Default: 20000
  int64_t test_scenes = 1000;    // Default: 1000
  // Scene generator seeds; the defaults are the fashion-mnist-scenes
  // dataset's (data/scenes.h).
  uint64_t train_seed = kSceneTrainSeed;  // Default: kSceneTrainSeed (1)
  uint64_t test_seed = kSceneTestSeed;    // Default: kSceneTestSeed (2)
  double box_weight = 5;                  // Default: 5 (weight of the box L1 loss)
  DetectOptions detect;  // Default: threshold 0.25, NMS IoU 0.45, 500 boxes (evaluation)
};

struct DetectorEval {
  double ap50 = 0;             // mAP at IoU 0.5
  double ap75 = 0;             // mAP at IoU 0.75
  double mean_boxes = 0;       // boxes per image after NMS
  double mean_candidates = 0;  // candidates per image above the threshold
  double network_seconds = 0;  // total over the scenes
  double nms_seconds = 0;      // total over the scenes
};

// Ground truth of a scene: each item's tight box and label (score 1).
std::vector<Detection> SceneTruth(const Scene& scene);

// Detects on `scenes` in batches (eval mode, NoGradGuard) and scores it.
DetectorEval EvaluateDetector(Detector& model, const std::vector<Scene>& scenes,
                              const DetectOptions& options = {}, int64_t batch = 250);

// Trains a detector (options.epochs, batch_size, lr, seed, name, progress of
// TrainOptions are used). meta.arch = "detector", meta.dataset =
// "fashion-mnist-scenes", meta.stats: ap50, ap75, mean_boxes,
// network_ms_per_image, nms_ms_per_image (test scenes at det.detect),
// train_seconds, train_scenes, test_scenes. Throws ModelError on invalid
// options.
TrainedModel TrainDetector(const ImageSet& fmnist_train, const ImageSet& fmnist_test,
                           const TrainOptions& options, const DetectorTrainOptions& det);

// A detector checkpoint loaded for evaluation or attack.
struct LoadedDetector {
  Detector model{nullptr};  // eval mode
  ModelMetadata meta;
};

// Loads a checkpoint written by SaveModel from TrainDetector's result.
// Throws ModelError naming the file if it is missing or unreadable, its
// arch is not "detector", its configuration is invalid or its parameters do
// not fit.
LoadedDetector LoadDetector(const std::string& path);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_DETECTOR_TRAINER_H_
