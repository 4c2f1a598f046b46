// Detection boxes, their overlap (intersection over union) and class-aware
// greedy non-maximum suppression (NMS), the post-processing step of one-stage
// detectors whose cost the D3 attacks (Phantom Sponges, Overload) inflate:
// NMS compares every candidate that passes the confidence threshold with the
// boxes kept so far, so its time grows with the number of candidates.
// Boxes are continuous pixel coordinates [x0, x1) x [y0, y1).
// Torch-free. Thread-safe: pure functions on values.
#ifndef EFFROBUST_EVALUATION_BOXES_H_
#define EFFROBUST_EVALUATION_BOXES_H_

#include <cstdint>
#include <vector>

namespace effrobust {

// One detected (or ground-truth) box. For ground truth the score is unused.
struct Detection {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // pixels; a box with x1 <= x0 or y1 <= y0 is empty
  float score = 0;                       // confidence in [0, 1]
  int64_t label = 0;                     // class
};

// Area of the box (0 if empty).
float BoxArea(const Detection& d);

// Intersection over union of two boxes, in [0, 1]; 0 when either is empty
// or they do not overlap. Labels and scores are ignored.
float IoU(const Detection& a, const Detection& b);

struct NmsOptions {
  // Default: 0.45. A candidate is suppressed by a kept box of the same
  // label whose IoU with it is above this.
  float iou_threshold = 0.45f;
  // Default: 500. At most this many boxes are kept (over all labels).
  int64_t max_detections = 500;
};

// Greedy class-aware NMS: candidates sorted by descending score (stable:
// equal scores keep their input order, so the result is deterministic),
// each kept unless a kept box of the same label overlaps it by more than
// options.iou_threshold; stops once max_detections are kept. Returns the kept
// boxes in descending score order. `comparisons`, if given, receives the
// number of IoU computations made (the work the D3 attacks inflate).
// Complexity: O(n log n) for the sort plus O(n * k) IoU tests, n candidates
// and k <= min(n, max_detections) kept boxes; O(n^2) in the worst case (no
// candidate suppresses another), which is what plain greedy NMS costs.
// Throws std::invalid_argument if iou_threshold is not in [0, 1] or
// max_detections < 0.
std::vector<Detection> Nms(std::vector<Detection> candidates, const NmsOptions& options = {},
                           int64_t* comparisons = nullptr);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_BOXES_H_
