// A small one-stage grid detector in the style of YOLO (the victims of
// Phantom Sponges and Overload): a CNN maps a grayscale canvas [B, 1, S, S]
// to an (S/8) x (S/8) grid of cells (stride 8); each cell predicts
// objectness, class scores and one box. A cell's candidate has score
// sigmoid(objectness) x the largest softmax class probability, that class
// as label, and the box centre (col + sigmoid(tx), row + sigmoid(ty)) x 8
// pixels, width anchor x exp(tw) and height anchor x exp(th) (tw, th clamped
// to [-4, 2]). Inference keeps the candidates whose score is >= a confidence
// threshold and runs class-aware greedy NMS (evaluation/boxes.h) on them, so
// its post-processing cost grows with the number of confident cells.
//  * Backbone: 3 x (conv 3x3 + batch norm + ReLU + max-pool 2) then two
//    (conv 3x3 + batch norm + ReLU) at stride 8 (each cell sees 54 x 54 pixels; an item is 20 x
//    20); widths width/4, width/2, width, width, width.
//  * Head: conv 1x1 to 5 + classes channels (objectness, tx, ty, tw, th,
//    class logits); the objectness bias starts at logit(0.01).
// Batch norm: call eval() before measuring or attacking. A DetectionVictim
// (models/detection_victim.h): its candidates are the cells (DetectorCandidates,
// DetectOptions and DetectionBatch live there).
// Thread-safety: like any torch::nn::Module.
#ifndef EFFROBUST_MODELS_DETECTOR_H_
#define EFFROBUST_MODELS_DETECTOR_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/detection_victim.h"

namespace effrobust {

struct DetectorConfig {
  int64_t image_size = 64;  // Default: 64 (square, 1 channel; divisible by 8)
  int64_t classes = 10;     // Default: 10 (Fashion-MNIST)
  int64_t width = 32;       // Default: 32 (backbone width at stride 8; divisible by 4;
                            // AP50 0.755 in docs/results-d3.md)
  double anchor = 20;       // Default: 20 (pixels; the scenes' item size)

  // As ModelMetadata::arch_config ("classes", "width", "anchor") and back;
  // FromArchConfig throws ModelError on a missing key or bad value.
  std::map<std::string, double> ToArchConfig() const;
  static DetectorConfig FromArchConfig(int64_t image_size,
                                       const std::map<std::string, double>& arch);
};

class DetectorImpl : public torch::nn::Module, public DetectionVictim {
 public:
  static constexpr int64_t kStride = 8;

  // Throws ModelError on a bad config (size not divisible by 8, width not
  // divisible by 4 or < 4, classes < 1, anchor <= 0).
  explicit DetectorImpl(const DetectorConfig& config);

  // Head output [B, N, 5 + classes] of images [B, 1, S, S] in [0, 1].
  // Throws ModelError on another shape.
  torch::Tensor Forward(const torch::Tensor& images);

  // Decodes head output (Forward) into per-cell candidates.
  DetectorCandidates Decode(const torch::Tensor& head) const;

  // Decode(Forward(images)); N = cells() in row-major order.
  DetectorCandidates RawCandidates(const torch::Tensor& images) override;

  // Forward(images).
  torch::Tensor CandidateFeatures(const torch::Tensor& images) override;

  int64_t image_size() const override { return config_.image_size; }
  int64_t in_channels() const override { return 1; }
  int64_t classes() const override { return config_.classes; }
  torch::nn::Module& module() override { return *this; }

  // Grid side (S / 8) and number of cells.
  int64_t grid() const { return config_.image_size / kStride; }
  int64_t cells() const { return grid() * grid(); }
  const DetectorConfig& config() const { return config_; }

  // Every image goes through `stage` first (models/input_stage.h); nullptr
  // removes it.
  void set_input_stage(InputStage stage) override { input_stage_ = std::move(stage); }

 private:
  DetectorConfig config_;
  InputStage input_stage_;
  torch::nn::Sequential backbone_{nullptr};
  torch::nn::Conv2d head_{nullptr};
  torch::Tensor cell_x_, cell_y_;  // [N] column and row of each cell (buffers)
};
TORCH_MODULE(Detector);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_DETECTOR_H_
