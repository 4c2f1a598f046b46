#include "evaluation/average_precision.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

namespace effrobust {

namespace {

struct Ranked {
  float score;
  size_t image;
  size_t index;  // in detections[image]
};

// All-point interpolated area under the precision-recall curve of ranked
// true/false positives against `positives` ground-truth boxes.
double AreaUnderCurve(const std::vector<bool>& is_tp, int64_t positives) {
  const size_t n = is_tp.size();
  std::vector<double> precision(n), recall(n);
  int64_t tp = 0;
  for (size_t i = 0; i < n; ++i) {
    if (is_tp[i]) ++tp;
    precision[i] = static_cast<double>(tp) / static_cast<double>(i + 1);
    recall[i] = static_cast<double>(tp) / static_cast<double>(positives);
  }
  // Envelope: precision at rank i becomes the best precision at rank >= i.
  for (size_t i = n; i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
  double ap = 0, previous_recall = 0;
  for (size_t i = 0; i < n; ++i) {
    ap += (recall[i] - previous_recall) * precision[i];
    previous_recall = recall[i];
  }
  return ap;
}

}  // namespace

ApResult AveragePrecision(const ImageBoxes& detections, const ImageBoxes& truth,
                          double iou_threshold) {
  if (detections.size() != truth.size()) {
    throw std::invalid_argument("AP needs detections and ground truth of the same images (" +
                                std::to_string(detections.size()) + " vs " +
                                std::to_string(truth.size()) + " images)");
  }
  if (!(iou_threshold > 0 && iou_threshold <= 1)) {
    throw std::invalid_argument("AP iou_threshold " + std::to_string(iou_threshold) +
                                " (allowed: (0, 1])");
  }
  std::set<int64_t> classes;
  for (const auto& image : truth) {
    for (const Detection& t : image) classes.insert(t.label);
  }
  ApResult result;
  for (int64_t c : classes) {
    int64_t positives = 0;
    std::vector<Ranked> ranked;
    for (size_t i = 0; i < truth.size(); ++i) {
      for (const Detection& t : truth[i]) positives += t.label == c ? 1 : 0;
      for (size_t j = 0; j < detections[i].size(); ++j) {
        if (detections[i][j].label == c) ranked.push_back({detections[i][j].score, i, j});
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
    std::vector<std::vector<bool>> matched(truth.size());
    for (size_t i = 0; i < truth.size(); ++i) matched[i].assign(truth[i].size(), false);
    std::vector<bool> is_tp;
    is_tp.reserve(ranked.size());
    for (const Ranked& r : ranked) {
      const Detection& d = detections[r.image][r.index];
      const auto& gts = truth[r.image];
      double best = -1;
      size_t best_k = gts.size();
      for (size_t k = 0; k < gts.size(); ++k) {
        if (gts[k].label != c || matched[r.image][k]) continue;
        const double iou = IoU(d, gts[k]);
        if (iou > best) {
          best = iou;
          best_k = k;
        }
      }
      const bool tp = best_k < gts.size() && best >= iou_threshold;
      if (tp) matched[r.image][best_k] = true;
      is_tp.push_back(tp);
    }
    result.per_class[c] = AreaUnderCurve(is_tp, positives);
  }
  double sum = 0;
  for (const auto& [c, ap] : result.per_class) sum += ap;
  result.map = result.per_class.empty() ? 0 : sum / static_cast<double>(result.per_class.size());
  return result;
}

ApResult AveragePrecisionAgainst(const ImageBoxes& detections, const ImageBoxes& reference,
                                 double iou_threshold, double reference_min_score) {
  ImageBoxes truth(reference.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    for (const Detection& d : reference[i]) {
      if (d.score >= reference_min_score) truth[i].push_back(d);
    }
  }
  return AveragePrecision(detections, truth, iou_threshold);
}

}  // namespace effrobust
