// The D3 victim pipeline of one frame sequence, as a camera runs it: each
// frame goes through the detector at batch 1 (network, then confidence
// threshold + NMS) and its boxes into a ByteTrack-style tracker, and every
// stage is timed on the steady clock (Detect copies the candidates to the
// host, which waits for a GPU). Per frame it records what the paper's
// SlowTrack table counts: candidates before NMS, boxes after NMS, tracks
// the tracker holds (tracked + lost + unconfirmed), and the three times.
// Deterministic apart from the times. Thread-safety: like the detector.
#ifndef EFFROBUST_MODELS_DETECT_AND_TRACK_H_
#define EFFROBUST_MODELS_DETECT_AND_TRACK_H_

#include <torch/torch.h>

#include <vector>

#include "data/sequences.h"
#include "evaluation/boxes.h"
#include "models/byte_tracker.h"
#include "models/detection_victim.h"
#include "models/detector.h"

namespace effrobust {

// One frame through the pipeline.
struct TrackedFrame {
  int64_t candidates = 0;             // cells scoring >= the threshold (into NMS)
  std::vector<Detection> boxes;       // after NMS, into the tracker
  std::vector<TrackedObject> tracks;  // confirmed tracks output this frame
  TrackCounts held;                   // tracks held after this frame
  double network_ms = 0;              // forward pass and candidate decoding
  double nms_ms = 0;                  // threshold filter and NMS
  double tracker_ms = 0;              // ByteTracker::Update
  double total_ms() const { return network_ms + nms_ms + tracker_ms; }
};

struct TrackedSequence {
  std::vector<TrackedFrame> frames;
  int64_t tracks_started = 0;  // tracks the tracker created over the sequence
};

// The frames of `sequence` as a float tensor [T, 1, S, S] in [0, 1] (CPU).
torch::Tensor SequenceFrames(const Sequence& sequence);

// Runs `frames` [T, C, S, S] (on the model's device, values in [0, 1])
// through the detector (eval mode is the caller's business) and a fresh
// tracker. Throws ModelError on a bad shape.
TrackedSequence DetectAndTrack(DetectionVictim& model, const torch::Tensor& frames,
                               const DetectOptions& detect, const ByteTrackerOptions& tracker);
// DetectAndTrack(*model, ...).
TrackedSequence DetectAndTrack(Detector& model, const torch::Tensor& frames,
                               const DetectOptions& detect, const ByteTrackerOptions& tracker);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_DETECT_AND_TRACK_H_
