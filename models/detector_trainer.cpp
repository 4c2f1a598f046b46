#include "models/detector_trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/error.h"
#include "common/log.h"
#include "models/captioner_trainer.h"

namespace effrobust {

namespace {

constexpr int64_t kProgressEvery = 50;

// Targets of scenes[idx] on the detector's grid.
struct GridTargets {
  torch::Tensor objectness;  // [B, N] float, 1 at responsible cells
  torch::Tensor labels;      // [P] int64, class of each responsible cell
  torch::Tensor cells;       // [P] int64, flat index b * N + cell
  torch::Tensor boxes;       // [P, 4] float: offset x, offset y, log(w / anchor), log(h / anchor)
};

GridTargets MakeTargets(const std::vector<Scene>& scenes, const std::vector<int64_t>& idx,
                        const DetectorImpl& model) {
  const int64_t g = model.grid(), n = model.cells();
  const double stride = static_cast<double>(DetectorImpl::kStride), anchor = model.config().anchor;
  GridTargets t;
  t.objectness = torch::zeros({static_cast<int64_t>(idx.size()), n});
  std::vector<int64_t> labels, cells;
  std::vector<float> boxes;
  auto obj = t.objectness.accessor<float, 2>();
  for (size_t b = 0; b < idx.size(); ++b) {
    for (const SceneItem& it : scenes[static_cast<size_t>(idx[b])].items) {
      const double gx = it.box.cx() / stride, gy = it.box.cy() / stride;
      const int64_t col = std::clamp<int64_t>(static_cast<int64_t>(gx), 0, g - 1);
      const int64_t row = std::clamp<int64_t>(static_cast<int64_t>(gy), 0, g - 1);
      obj[static_cast<int64_t>(b)][row * g + col] = 1;
      labels.push_back(it.label);
      cells.push_back(static_cast<int64_t>(b) * n + row * g + col);
      boxes.push_back(static_cast<float>(gx - static_cast<double>(col)));
      boxes.push_back(static_cast<float>(gy - static_cast<double>(row)));
      boxes.push_back(static_cast<float>(std::log((it.box.x1 - it.box.x0) / anchor)));
      boxes.push_back(static_cast<float>(std::log((it.box.y1 - it.box.y0) / anchor)));
    }
  }
  t.labels = torch::tensor(labels, torch::kInt64);
  t.cells = torch::tensor(cells, torch::kInt64);
  t.boxes = torch::tensor(boxes, torch::kFloat32).reshape({-1, 4});
  return t;
}

// The training loss of head output [B, N, 5 + C] (see the header comment).
torch::Tensor DetectionLoss(const torch::Tensor& head, const GridTargets& t, double box_weight) {
  namespace F = torch::nn::functional;
  const double batch = static_cast<double>(head.size(0));
  torch::Tensor obj = F::binary_cross_entropy_with_logits(
      head.select(2, 0), t.objectness,
      F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum));
  torch::Tensor pos = head.reshape({-1, head.size(2)}).index_select(0, t.cells);  // [P, 5 + C]
  torch::Tensor cls = F::cross_entropy(pos.slice(1, 5), t.labels,
                                       F::CrossEntropyFuncOptions().reduction(torch::kSum));
  torch::Tensor pred = torch::cat({torch::sigmoid(pos.slice(1, 1, 3)), pos.slice(1, 3, 5)}, 1);
  torch::Tensor box = (pred - t.boxes).abs().sum();
  return (obj + cls + box_weight * box) / batch;
}

}  // namespace

std::vector<Detection> SceneTruth(const Scene& scene) {
  std::vector<Detection> out;
  for (const SceneItem& it : scene.items) {
    Detection d;
    d.x0 = static_cast<float>(it.box.x0);
    d.y0 = static_cast<float>(it.box.y0);
    d.x1 = static_cast<float>(it.box.x1);
    d.y1 = static_cast<float>(it.box.y1);
    d.score = 1;
    d.label = it.label;
    out.push_back(d);
  }
  return out;
}

DetectorEval EvaluateDetector(Detector& model, const std::vector<Scene>& scenes,
                              const DetectOptions& options, int64_t batch) {
  torch::NoGradGuard no_grad;
  model->eval();
  DetectorEval e;
  if (scenes.empty()) return e;
  ImageBoxes detections, truth;
  double boxes = 0, candidates = 0;
  for (size_t b = 0; b < scenes.size(); b += static_cast<size_t>(batch)) {
    const size_t end = std::min(scenes.size(), b + static_cast<size_t>(batch));
    std::vector<int64_t> idx;
    for (size_t i = b; i < end; ++i) idx.push_back(static_cast<int64_t>(i));
    DetectionBatch d = model->Detect(SceneImages(scenes, idx), options);
    e.network_seconds += d.network_seconds;
    e.nms_seconds += d.nms_seconds;
    for (size_t i = 0; i < d.boxes.size(); ++i) {
      boxes += static_cast<double>(d.boxes[i].size());
      candidates += static_cast<double>(d.candidates[i]);
      detections.push_back(std::move(d.boxes[i]));
      truth.push_back(SceneTruth(scenes[b + i]));
    }
  }
  const double n = static_cast<double>(scenes.size());
  e.ap50 = AveragePrecision(detections, truth, 0.5).map;
  e.ap75 = AveragePrecision(detections, truth, 0.75).map;
  e.mean_boxes = boxes / n;
  e.mean_candidates = candidates / n;
  return e;
}

TrainedModel TrainDetector(const ImageSet& fmnist_train, const ImageSet& fmnist_test,
                           const TrainOptions& options, const DetectorTrainOptions& det) {
  if (options.epochs < 1 || options.batch_size < 1 || !(options.lr > 0) || det.train_scenes < 1 ||
      det.test_scenes < 1 || !(det.box_weight >= 0)) {
    throw ModelError("invalid detector training options (epochs " + std::to_string(options.epochs) +
                     ", batch_size " + std::to_string(options.batch_size) + ", lr " +
                     std::to_string(options.lr) + ", scenes " + std::to_string(det.train_scenes) +
                     "/" + std::to_string(det.test_scenes) + ", box_weight " +
                     std::to_string(det.box_weight) + ")");
  }
  const double t0 = MonotonicSeconds();
  SceneGenerator train_gen(fmnist_train, det.train_seed, det.scenes);
  SceneGenerator test_gen(fmnist_test, det.test_seed, det.scenes);
  const std::vector<Scene> train = MakeScenes(train_gen, 0, det.train_scenes);
  const std::vector<Scene> test = MakeScenes(test_gen, 0, det.test_scenes);
  DetectorConfig cfg = det.config;
  cfg.image_size = det.scenes.canvas;

  torch::manual_seed(static_cast<uint64_t>(options.seed));
  Detector model(cfg);
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  std::vector<int64_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  const int64_t n = static_cast<int64_t>(train.size());
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  model->train();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t s = b * options.batch_size, e = std::min(n, s + options.batch_size);
      const std::vector<int64_t> idx(order.begin() + s, order.begin() + e);
      optimizer.zero_grad();
      const GridTargets targets = MakeTargets(train, idx, *model);
      const BatchLoss loss_of = [&](const torch::Tensor& images) {
        return DetectionLoss(model->Forward(images), targets, det.box_weight);
      };
      const torch::Tensor images = SceneImages(train, idx);
      torch::Tensor loss = options.adversarial ? options.adversarial(*model, images, loss_of)
                                               : loss_of(images);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++loss_count;
      if (options.progress && ((b + 1) % kProgressEvery == 0 || b + 1 == batches)) {
        options.progress(epoch, b + 1, batches, loss_sum / static_cast<double>(loss_count));
        loss_sum = 0;
        loss_count = 0;
      }
    }
  }
  const double train_seconds = MonotonicSeconds() - t0;
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  const DetectorEval eval = EvaluateDetector(model, test, det.detect);

  TrainedModel out;
  ModelMetadata& meta = out.meta;
  meta.name = options.name;
  meta.arch = kDetectorArch;
  meta.dataset = kScenesDataset;
  meta.config.in_channels = 1;
  meta.config.image_size = cfg.image_size;
  meta.config.num_classes = cfg.classes;
  meta.config.channels.clear();
  meta.arch_config = cfg.ToArchConfig();
  meta.seed = options.seed;
  meta.epochs = options.epochs;
  meta.full_accuracy = eval.ap50;
  const double per_image_ms = 1000.0 / static_cast<double>(test.size());
  meta.stats = {{"ap50", eval.ap50},
                {"ap75", eval.ap75},
                {"mean_boxes", eval.mean_boxes},
                {"network_ms_per_image", eval.network_seconds * per_image_ms},
                {"nms_ms_per_image", eval.nms_seconds * per_image_ms},
                {"conf_threshold", det.detect.conf_threshold},
                {"train_seconds", train_seconds},
                {"train_scenes", static_cast<double>(det.train_scenes)},
                {"test_scenes", static_cast<double>(det.test_scenes)}};
  meta.train_seconds = train_seconds;
  meta.created_at = IsoTime(WallSeconds());
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                "detector: AP50 %.3f, AP75 %.3f on %lld test scenes at threshold %.2f "
                "(%.2f boxes per image), trained in %.0f s",
                eval.ap50, eval.ap75, static_cast<long long>(det.test_scenes),
                det.detect.conf_threshold, eval.mean_boxes, train_seconds);
  out.summary = buf;
  out.module = model.ptr();
  return out;
}

LoadedDetector LoadDetector(const std::string& path) {
  ModelFile file = ReadModelFile(path);
  if (file.meta.arch != kDetectorArch) {
    throw ModelError("model file '" + path + "' has arch '" + file.meta.arch + "', expected '" +
                     kDetectorArch + "'");
  }
  LoadedDetector out;
  try {
    out.model = Detector(
        DetectorConfig::FromArchConfig(file.meta.config.image_size, file.meta.arch_config));
  } catch (const ModelError& e) {
    // "[models] msg" of the nested error as "msg".
    const std::string what = e.what();
    const size_t close = what.find("] ");
    throw ModelError("model file '" + path +
                     "': " + (close == std::string::npos ? what : what.substr(close + 2)));
  }
  LoadParameters(file, *out.model);
  out.meta = file.meta;
  return out;
}

}  // namespace effrobust
