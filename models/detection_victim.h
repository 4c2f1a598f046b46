// A detection victim (D3): a one-stage detector seen through what the D3
// attacks (Overload, Phantom Sponges, SlowTrack), the detection + tracking
// pipeline (models/detect_and_track.h) and the D3 executor need from it --
// its raw per-candidate outputs, kept differentiable, and effrobust's own
// confidence threshold + class-aware NMS on top (Detect, the same for every
// implementation, so the attacks' objectives and the NMS cost meters apply
// unchanged). Implemented by the built-in grid detector (models/detector.h)
// and by scripted detectors (models/torchscript_detector.h).
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_DETECTION_VICTIM_H_
#define EFFROBUST_MODELS_DETECTION_VICTIM_H_

#include <torch/torch.h>

#include <vector>

#include "evaluation/boxes.h"
#include "models/input_stage.h"

namespace effrobust {

// The raw output of every candidate (a cell of a grid detector), before
// threshold and NMS; N candidates per image. Keeps the graph to the images
// unless computed under NoGradGuard, so attacks can differentiate through
// scores and objectness.
struct DetectorCandidates {
  torch::Tensor objectness;   // [B, N] in [0, 1]
  torch::Tensor class_probs;  // [B, N, classes] in [0, 1]
  torch::Tensor scores;       // [B, N] objectness x max class probability
  torch::Tensor labels;       // [B, N] int64, argmax class
  torch::Tensor boxes;        // [B, N, 4] x0, y0, x1, y1 in pixels
};

struct DetectOptions {
  float conf_threshold = 0.25f;  // Default: 0.25 (candidates with score >= this go to NMS)
  NmsOptions nms;                // Default: IoU 0.45, at most 500 boxes
  // Runtime cap (the nms_cap defense): only the highest-scoring this many
  // candidates go into NMS; 0 (Default): no cap. DetectionBatch::candidates
  // still counts every candidate over the threshold.
  int64_t max_candidates = 0;
};

// Detections of a batch and where the time went.
struct DetectionBatch {
  std::vector<std::vector<Detection>> boxes;  // per image, descending score
  std::vector<int64_t> candidates;            // per image: candidates that passed the threshold
  double network_seconds = 0;                 // forward pass and candidate decoding (steady clock)
  double nms_seconds = 0;  // threshold filter, copy to host and NMS (steady clock)
};

class DetectionVictim {
 public:
  virtual ~DetectionVictim() = default;

  // The candidates of images [B, in_channels, S, S] (S = image_size) in
  // [0, 1], on the module's device, after the input stage (if any). Throws
  // ModelError on another shape or, for a scripted module, on outputs that
  // break its contract.
  virtual DetectorCandidates RawCandidates(const torch::Tensor& images) = 0;

  // Per-candidate outputs [B, N, F] of images as RawCandidates takes them:
  // the features of the input_detector defense (which averages and maxes
  // them over the candidates). Built-in: the head output (5 + classes
  // logits); scripted: objectness, class probabilities and boxes / S.
  virtual torch::Tensor CandidateFeatures(const torch::Tensor& images) = 0;

  virtual int64_t image_size() const = 0;   // S
  virtual int64_t in_channels() const = 0;  // 1: D3 frames are grey
  virtual int64_t classes() const = 0;

  // Every image goes through `stage` first (models/input_stage.h); nullptr
  // removes it. Not part of the saved model.
  virtual void set_input_stage(InputStage stage) = 0;

  // The module behind the detector, for train/eval, device moves and its
  // parameters (FrozenDetector). Owned by this object.
  virtual torch::nn::Module& module() = 0;

  // Thresholded, NMS'd detections of RawCandidates(images), under
  // NoGradGuard; eval mode is the caller's business. The same for every
  // implementation. Throws std::invalid_argument on bad NMS options,
  // ModelError as RawCandidates.
  DetectionBatch Detect(const torch::Tensor& images, const DetectOptions& options = {});
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_DETECTION_VICTIM_H_
