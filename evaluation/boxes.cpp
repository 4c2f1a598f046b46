#include "evaluation/boxes.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace effrobust {

float BoxArea(const Detection& d) {
  return std::max(0.0f, d.x1 - d.x0) * std::max(0.0f, d.y1 - d.y0);
}

float IoU(const Detection& a, const Detection& b) {
  const float iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0);
  const float ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = BoxArea(a) + BoxArea(b) - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<Detection> Nms(std::vector<Detection> candidates, const NmsOptions& options,
                           int64_t* comparisons) {
  if (!(options.iou_threshold >= 0 && options.iou_threshold <= 1) || options.max_detections < 0) {
    throw std::invalid_argument("NMS iou_threshold " + std::to_string(options.iou_threshold) +
                                " (allowed: [0, 1]), max_detections " +
                                std::to_string(options.max_detections) + " (allowed: >= 0)");
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> kept;
  int64_t tests = 0;
  for (const Detection& c : candidates) {
    if (static_cast<int64_t>(kept.size()) >= options.max_detections) break;
    bool suppressed = false;
    for (const Detection& k : kept) {
      if (k.label != c.label) continue;
      ++tests;
      if (IoU(k, c) > options.iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(c);
  }
  if (comparisons != nullptr) *comparisons = tests;
  return kept;
}

}  // namespace effrobust
