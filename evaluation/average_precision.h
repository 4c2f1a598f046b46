// Average precision (AP) of a detector over a set of images, as in PASCAL
// VOC 2010+ and COCO: for each class, the detections of that class over all
// images are ranked by descending score (stable: ties keep image order, then
// their order in the image) and each is matched to the unmatched
// ground-truth box of its class in its image with the highest IoU, if that
// IoU is >= the threshold (a true positive; otherwise a false positive).
// AP is the area under the precision-recall curve with all-point
// interpolation: precision at recall r is the best precision at any recall
// >= r. mAP is the mean of AP over the classes present in the ground truth;
// detections of other classes are ignored.
// Torch-free. Thread-safe: pure functions on values.
#ifndef EFFROBUST_EVALUATION_AVERAGE_PRECISION_H_
#define EFFROBUST_EVALUATION_AVERAGE_PRECISION_H_

#include <cstdint>
#include <map>
#include <vector>

#include "evaluation/boxes.h"

namespace effrobust {

// Boxes of each image: images[i] holds image i's boxes.
using ImageBoxes = std::vector<std::vector<Detection>>;

struct ApResult {
  double map = 0;                       // mean over per_class (0 if there is no ground truth)
  std::map<int64_t, double> per_class;  // AP of each class present in the ground truth
};

// AP of `detections` against `truth` (scores of truth ignored) at
// `iou_threshold` (e.g. 0.5 for AP50, 0.75 for AP75). Throws
// std::invalid_argument if the two hold different numbers of images or the
// threshold is not in (0, 1].
ApResult AveragePrecision(const ImageBoxes& detections, const ImageBoxes& truth,
                          double iou_threshold);

// AP of `detections` against another detection set taken as pseudo ground
// truth (e.g. the clean image's detections when scoring an attacked one):
// reference boxes with score >= reference_min_score are the ground truth.
// Same errors as AveragePrecision.
ApResult AveragePrecisionAgainst(const ImageBoxes& detections, const ImageBoxes& reference,
                                 double iou_threshold, double reference_min_score = 0);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_AVERAGE_PRECISION_H_
