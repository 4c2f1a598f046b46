// CLEAR MOT accuracy (Bernardin & Stiefelhagen 2008) of a tracker's output
// against ground truth, frame by frame: a ground-truth object and a track
// matched in the previous frame stay matched while their IoU is above the
// threshold; the rest are matched by minimum-cost assignment on 1 - IoU
// (evaluation/linear_assignment.h), pairs only above the IoU threshold.
// Unmatched ground truth = misses (FN), unmatched tracks = false positives,
// a ground-truth object matched to a different track id than at its last
// match = an identity switch.
//   MOTA = 1 - (FN + FP + IDSW) / ground-truth objects;  MOTP = mean IoU of
//   the matches.
// The paper also scores the attacked run against the clean run's output
// (pseudo ground truth): pass the clean tracks as `truth`. Torch-free.
// Not thread-safe (accumulates).
#ifndef EFFROBUST_EVALUATION_MOTA_H_
#define EFFROBUST_EVALUATION_MOTA_H_

#include <cstdint>
#include <map>
#include <vector>

#include "evaluation/boxes.h"

namespace effrobust {

struct MotObject {
  int64_t id = 0;  // ground-truth identity or track id
  Detection box;   // score and label unused
};

struct MotaResult {
  int64_t frames = 0;
  int64_t truth = 0;  // ground-truth objects over all frames
  int64_t matches = 0;
  int64_t false_negatives = 0;
  int64_t false_positives = 0;
  int64_t id_switches = 0;
  double mota = 0;  // 1 - (FN + FP + IDSW) / max(1, truth)
  double motp = 0;  // mean IoU of matches (0 if none)
};

class MotaAccumulator {
 public:
  // Default iou_threshold 0.5. Throws std::invalid_argument unless it is in [0, 1).
  explicit MotaAccumulator(double iou_threshold = 0.5);

  // One frame: its ground-truth objects and the tracker's output. Ids must
  // be unique within a frame (std::invalid_argument otherwise).
  void AddFrame(const std::vector<MotObject>& truth, const std::vector<MotObject>& tracks);

  MotaResult Result() const;

 private:
  double threshold_;
  MotaResult r_;
  double iou_sum_ = 0;
  std::map<int64_t, int64_t> current_;  // truth id -> track id matched in the previous frame
  std::map<int64_t, int64_t> last_;     // truth id -> track id of its latest match
};

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_MOTA_H_
