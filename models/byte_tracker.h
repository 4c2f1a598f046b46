// Multi-object tracker in the style of ByteTrack (Zhang et al., ECCV 2022),
// the tracker of SlowTrack's victim pipeline: each track carries a Kalman
// filter of its box (models/kalman_box.h); per frame, detections above
// track_thresh are associated with the predicted tracked + lost tracks by
// IoU (cost 1 - IoU x score, limit match_thresh), the low-score detections
// (low_thresh, track_thresh] with the still-unmatched tracked ones (limit
// second_match_thresh), unconfirmed tracks with the remaining high
// detections (limit unconfirmed_match_thresh); unmatched tracked tracks
// become lost, lost tracks older than track_buffer frames are removed, and
// high detections left over (score >= track_thresh + new_track_margin)
// start unconfirmed tracks (confirmed at once on the first frame).
// Linear assignment: evaluation/linear_assignment.h (dlib's Hungarian).
// Every track the tracker holds — tracked, lost or unconfirmed — costs
// prediction and association work each frame: the cost the D3 attacks
// inflate (SlowTrack counts them). Class-agnostic, as ByteTrack; a track
// reports the label of its last detection. Torch-free. Not thread-safe.
#ifndef EFFROBUST_MODELS_BYTE_TRACKER_H_
#define EFFROBUST_MODELS_BYTE_TRACKER_H_

#include <cstdint>
#include <vector>

#include "evaluation/boxes.h"
#include "models/kalman_box.h"

namespace effrobust {

struct ByteTrackerOptions {
  double track_thresh = 0.5;              // Default: 0.5 (high/low detection split)
  double low_thresh = 0.1;                // Default: 0.1 (lower detections are dropped)
  double new_track_margin = 0.1;          // Default: 0.1 (new tracks need track_thresh + this)
  double match_thresh = 0.8;              // Default: 0.8 (cost limit, first association)
  double second_match_thresh = 0.5;       // Default: 0.5 (cost limit, low-score association)
  double unconfirmed_match_thresh = 0.7;  // Default: 0.7 (cost limit, unconfirmed tracks)
  int64_t track_buffer = 30;              // Default: 30 (frames a lost track is kept)
  double min_box_area = 10;               // Default: 10 (pixels; smaller tracks are not output)
};

// A confirmed, currently tracked object in one frame's output.
struct TrackedObject {
  int64_t id = 0;  // track id, 1, 2, ... in order of creation
  Detection box;   // Kalman state box; score and label of the last matched detection
};

// How many tracks the tracker holds after a frame.
struct TrackCounts {
  int64_t tracked = 0;      // confirmed and matched recently
  int64_t lost = 0;         // unmatched, kept up to track_buffer frames
  int64_t unconfirmed = 0;  // started last frame, not yet matched again
  int64_t held() const { return tracked + lost + unconfirmed; }
};

class ByteTracker {
 public:
  // Throws std::invalid_argument on thresholds outside [0, 1] (limits in
  // (0, 2]), track_buffer < 0 or min_box_area < 0.
  explicit ByteTracker(const ByteTrackerOptions& options = ByteTrackerOptions());

  // Consumes one frame's detections (after NMS) and returns the confirmed
  // tracks of this frame, by id.
  std::vector<TrackedObject> Update(const std::vector<Detection>& detections);

  TrackCounts counts() const;
  int64_t frame() const { return frame_; }
  int64_t tracks_started() const { return next_id_ - 1; }

 private:
  enum class State { kTracked, kLost, kRemoved };
  struct Track {
    int64_t id = 0;
    KalmanBox filter;
    State state = State::kTracked;
    bool confirmed = false;
    int64_t last_frame = 0;  // frame of the last matched detection
    float score = 0;
    int64_t label = 0;
    Detection Box() const;
  };
  void Match(Track* t, const Detection& d, int64_t frame);

  ByteTrackerOptions options_;
  std::vector<Track> tracked_;  // tracked (confirmed or not)
  std::vector<Track> lost_;
  int64_t frame_ = 0;
  int64_t next_id_ = 1;
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_BYTE_TRACKER_H_
