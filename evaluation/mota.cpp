#include "evaluation/mota.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

#include "evaluation/linear_assignment.h"

namespace effrobust {

namespace {

void CheckUnique(const std::vector<MotObject>& objects, const char* what) {
  std::set<int64_t> ids;
  for (const MotObject& o : objects) {
    if (!ids.insert(o.id).second) {
      throw std::invalid_argument(std::string("MOTA: ") + what + " id " + std::to_string(o.id) +
                                  " appears twice in one frame");
    }
  }
}

}  // namespace

MotaAccumulator::MotaAccumulator(double iou_threshold) : threshold_(iou_threshold) {
  if (!(iou_threshold >= 0 && iou_threshold < 1)) {
    throw std::invalid_argument("MOTA IoU threshold " + std::to_string(iou_threshold) +
                                " (allowed: 0 <= threshold < 1)");
  }
}

void MotaAccumulator::AddFrame(const std::vector<MotObject>& truth,
                               const std::vector<MotObject>& tracks) {
  CheckUnique(truth, "ground-truth");
  CheckUnique(tracks, "track");
  ++r_.frames;
  r_.truth += static_cast<int64_t>(truth.size());
  std::vector<bool> truth_done(truth.size(), false), track_done(tracks.size(), false);
  std::map<int64_t, int64_t> now;  // truth id -> track id, this frame
  auto match = [&](size_t g, size_t t, double iou) {
    truth_done[g] = track_done[t] = true;
    const int64_t gid = truth[g].id, tid = tracks[t].id;
    auto last = last_.find(gid);
    if (last != last_.end() && last->second != tid) ++r_.id_switches;
    last_[gid] = tid;
    now[gid] = tid;
    ++r_.matches;
    iou_sum_ += iou;
  };
  // Keep last frame's correspondences that still overlap enough.
  for (size_t g = 0; g < truth.size(); ++g) {
    auto kept = current_.find(truth[g].id);
    if (kept == current_.end()) continue;
    for (size_t t = 0; t < tracks.size(); ++t) {
      if (track_done[t] || tracks[t].id != kept->second) continue;
      const double iou = IoU(truth[g].box, tracks[t].box);
      if (iou > threshold_) match(g, t, iou);
      break;
    }
  }
  // The rest by assignment on 1 - IoU.
  std::vector<size_t> gs, ts;
  for (size_t g = 0; g < truth.size(); ++g) {
    if (!truth_done[g]) gs.push_back(g);
  }
  for (size_t t = 0; t < tracks.size(); ++t) {
    if (!track_done[t]) ts.push_back(t);
  }
  std::vector<std::vector<double>> cost(gs.size(), std::vector<double>(ts.size()));
  for (size_t i = 0; i < gs.size(); ++i) {
    for (size_t j = 0; j < ts.size(); ++j) {
      cost[i][j] = 1.0 - IoU(truth[gs[i]].box, tracks[ts[j]].box);
    }
  }
  Assignment a = AssignWithLimit(cost, static_cast<int64_t>(ts.size()), 1.0 - threshold_);
  for (const auto& [i, j] : a.pairs) match(gs[i], ts[j], 1.0 - cost[i][j]);
  for (bool done : truth_done) r_.false_negatives += done ? 0 : 1;
  for (bool done : track_done) r_.false_positives += done ? 0 : 1;
  current_ = std::move(now);
}

MotaResult MotaAccumulator::Result() const {
  MotaResult r = r_;
  const double errors = static_cast<double>(r.false_negatives + r.false_positives + r.id_switches);
  r.mota = 1.0 - errors / static_cast<double>(std::max<int64_t>(1, r.truth));
  r.motp = r.matches > 0 ? iou_sum_ / static_cast<double>(r.matches) : 0.0;
  return r;
}

}  // namespace effrobust
