#include "models/detect_and_track.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "common/error.h"

namespace effrobust {

torch::Tensor SequenceFrames(const Sequence& sequence) {
  const int64_t t = static_cast<int64_t>(sequence.frames.size()), s = sequence.size;
  torch::Tensor out = torch::empty({t, 1, s, s}, torch::kUInt8);
  for (int64_t i = 0; i < t; ++i) {
    const std::vector<uint8_t>& p = sequence.frames[static_cast<size_t>(i)].pixels;
    if (static_cast<int64_t>(p.size()) != s * s) {
      throw ModelError("frame " + std::to_string(i) + " holds " + std::to_string(p.size()) +
                       " pixels, not " + std::to_string(s * s));
    }
    std::copy(p.begin(), p.end(), out[i].data_ptr<uint8_t>());
  }
  return out.to(torch::kFloat32).div_(255.0);
}

TrackedSequence DetectAndTrack(DetectionVictim& model, const torch::Tensor& frames,
                               const DetectOptions& detect, const ByteTrackerOptions& tracker) {
  if (frames.dim() != 4 || frames.size(1) != model.in_channels()) {
    throw ModelError("DetectAndTrack takes frames [T, " + std::to_string(model.in_channels()) +
                     ", S, S], got " + std::to_string(frames.dim()) + " dimensions");
  }
  TrackedSequence out;
  ByteTracker track(tracker);
  for (int64_t t = 0; t < frames.size(0); ++t) {
    DetectionBatch d = model.Detect(frames.slice(0, t, t + 1), detect);
    TrackedFrame f;
    f.candidates = d.candidates[0];
    f.boxes = std::move(d.boxes[0]);
    f.network_ms = d.network_seconds * 1e3;
    f.nms_ms = d.nms_seconds * 1e3;
    const auto start = std::chrono::steady_clock::now();
    f.tracks = track.Update(f.boxes);
    f.tracker_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    f.held = track.counts();
    out.frames.push_back(std::move(f));
  }
  out.tracks_started = track.tracks_started();
  return out;
}

TrackedSequence DetectAndTrack(Detector& model, const torch::Tensor& frames,
                               const DetectOptions& detect, const ByteTrackerOptions& tracker) {
  return DetectAndTrack(*model, frames, detect, tracker);
}

}  // namespace effrobust
