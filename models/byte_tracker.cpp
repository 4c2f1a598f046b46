#include "models/byte_tracker.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "evaluation/linear_assignment.h"

namespace effrobust {

namespace {

// Cost 1 - IoU(track, detection), times the detection's score if `fuse`
// (ByteTrack's fuse_score: 1 - IoU * score).
std::vector<std::vector<double>> Costs(const std::vector<Detection>& tracks,
                                       const std::vector<Detection>& dets, bool fuse) {
  std::vector<std::vector<double>> c(tracks.size(), std::vector<double>(dets.size()));
  for (size_t i = 0; i < tracks.size(); ++i) {
    for (size_t j = 0; j < dets.size(); ++j) {
      const double iou = IoU(tracks[i], dets[j]);
      c[i][j] = 1.0 - (fuse ? iou * dets[j].score : iou);
    }
  }
  return c;
}

int64_t Size(const std::vector<Detection>& v) { return static_cast<int64_t>(v.size()); }

}  // namespace

Detection ByteTracker::Track::Box() const {
  double x0, y0, x1, y1;
  filter.Box(&x0, &y0, &x1, &y1);
  Detection d;
  d.x0 = static_cast<float>(x0);
  d.y0 = static_cast<float>(y0);
  d.x1 = static_cast<float>(x1);
  d.y1 = static_cast<float>(y1);
  d.score = score;
  d.label = label;
  return d;
}

ByteTracker::ByteTracker(const ByteTrackerOptions& o) : options_(o) {
  auto unit = [](double v) { return v >= 0 && v <= 1; };
  auto limit = [](double v) { return v > 0 && v <= 2; };
  if (!unit(o.track_thresh) || !unit(o.low_thresh) || o.low_thresh > o.track_thresh ||
      !unit(o.new_track_margin) || !limit(o.match_thresh) || !limit(o.second_match_thresh) ||
      !limit(o.unconfirmed_match_thresh) || o.track_buffer < 0 || !(o.min_box_area >= 0)) {
    throw std::invalid_argument(
        "tracker options: need 0 <= low_thresh <= track_thresh <= 1, new_track_margin in [0, 1], "
        "match limits in (0, 2], track_buffer >= 0, min_box_area >= 0 (track_thresh " +
        std::to_string(o.track_thresh) + ", low_thresh " + std::to_string(o.low_thresh) + ")");
  }
}

void ByteTracker::Match(Track* t, const Detection& d, int64_t frame) {
  t->filter.Update(KalmanBox::FromBox(d.x0, d.y0, d.x1, d.y1));
  t->state = State::kTracked;
  t->confirmed = true;
  t->last_frame = frame;
  t->score = d.score;
  t->label = d.label;
}

std::vector<TrackedObject> ByteTracker::Update(const std::vector<Detection>& detections) {
  const ByteTrackerOptions& o = options_;
  ++frame_;
  std::vector<Detection> high, low;
  for (const Detection& d : detections) {
    if (d.score > o.track_thresh) {
      high.push_back(d);
    } else if (d.score > o.low_thresh) {
      low.push_back(d);
    }
  }
  // The pool: confirmed tracked tracks, then lost ones; unconfirmed apart.
  std::vector<Track> pool, unconfirmed;
  for (Track& t : tracked_) (t.confirmed ? pool : unconfirmed).push_back(std::move(t));
  for (Track& t : lost_) pool.push_back(std::move(t));
  tracked_.clear();
  lost_.clear();
  for (Track& t : pool) t.filter.Predict(t.state != State::kTracked);
  std::vector<Detection> pool_boxes;
  for (const Track& t : pool) pool_boxes.push_back(t.Box());

  std::vector<Track> next_tracked, next_lost;
  // 1. High detections against the whole pool.
  Assignment first = AssignWithLimit(Costs(pool_boxes, high, true), Size(high), o.match_thresh);
  for (const auto& [ti, di] : first.pairs) {
    Match(&pool[ti], high[di], frame_);
    next_tracked.push_back(std::move(pool[ti]));
  }
  // 2. Low detections against the unmatched tracks that were tracked.
  std::vector<int64_t> rest;
  std::vector<Detection> rest_boxes;
  for (int64_t ti : first.unpaired_rows) {
    if (pool[ti].state == State::kTracked) {
      rest.push_back(ti);
      rest_boxes.push_back(pool_boxes[ti]);
    } else {
      next_lost.push_back(std::move(pool[ti]));  // stays lost
    }
  }
  Assignment second =
      AssignWithLimit(Costs(rest_boxes, low, false), Size(low), o.second_match_thresh);
  for (const auto& [ri, di] : second.pairs) {
    Match(&pool[rest[ri]], low[di], frame_);
    next_tracked.push_back(std::move(pool[rest[ri]]));
  }
  for (int64_t ri : second.unpaired_rows) {
    Track& t = pool[rest[ri]];
    t.state = State::kLost;
    next_lost.push_back(std::move(t));
  }
  // 3. Unconfirmed tracks against the high detections left; unmatched ones go.
  std::vector<Detection> left;
  for (int64_t di : first.unpaired_columns) left.push_back(high[di]);
  std::vector<Detection> unconfirmed_boxes;
  for (const Track& t : unconfirmed) unconfirmed_boxes.push_back(t.Box());
  Assignment third =
      AssignWithLimit(Costs(unconfirmed_boxes, left, true), Size(left), o.unconfirmed_match_thresh);
  for (const auto& [ui, di] : third.pairs) {
    Match(&unconfirmed[ui], left[di], frame_);
    next_tracked.push_back(std::move(unconfirmed[ui]));
  }
  // 4. New tracks from confident leftovers.
  for (int64_t di : third.unpaired_columns) {
    const Detection& d = left[di];
    if (d.score < o.track_thresh + o.new_track_margin) continue;
    Track t{next_id_++, KalmanBox(KalmanBox::FromBox(d.x0, d.y0, d.x1, d.y1))};
    t.confirmed = frame_ == 1;
    t.last_frame = frame_;
    t.score = d.score;
    t.label = d.label;
    next_tracked.push_back(std::move(t));
  }
  // 5. Lost tracks past the buffer are removed.
  for (Track& t : next_lost) {
    if (frame_ - t.last_frame <= o.track_buffer) lost_.push_back(std::move(t));
  }
  tracked_ = std::move(next_tracked);
  // 6. A lost track overlapping a tracked one (IoU > 0.85) is a duplicate:
  // the younger of the two goes (ByteTrack's remove_duplicate_stracks).
  for (size_t i = 0; i < tracked_.size(); ++i) {
    for (size_t j = 0; j < lost_.size(); ++j) {
      if (lost_[j].state == State::kRemoved || tracked_[i].state == State::kRemoved) continue;
      if (IoU(tracked_[i].Box(), lost_[j].Box()) <= 0.85) continue;
      // Older = smaller id (ids grow with the start frame).
      (tracked_[i].id < lost_[j].id ? lost_[j] : tracked_[i]).state = State::kRemoved;
    }
  }
  auto removed = [](const Track& t) { return t.state == State::kRemoved; };
  tracked_.erase(std::remove_if(tracked_.begin(), tracked_.end(), removed), tracked_.end());
  lost_.erase(std::remove_if(lost_.begin(), lost_.end(), removed), lost_.end());

  std::vector<TrackedObject> out;
  for (const Track& t : tracked_) {
    if (!t.confirmed) continue;
    TrackedObject obj{t.id, t.Box()};
    if (BoxArea(obj.box) > o.min_box_area) out.push_back(obj);
  }
  std::sort(out.begin(), out.end(),
            [](const TrackedObject& a, const TrackedObject& b) { return a.id < b.id; });
  return out;
}

TrackCounts ByteTracker::counts() const {
  TrackCounts c;
  for (const Track& t : tracked_) (t.confirmed ? c.tracked : c.unconfirmed) += 1;
  c.lost = static_cast<int64_t>(lost_.size());
  return c;
}

}  // namespace effrobust
