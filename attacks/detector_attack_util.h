// Pieces shared by the D3 attacks on a detection victim (Overload, Phantom
// Sponges, SlowTrack). Uses torch.
#ifndef EFFROBUST_ATTACKS_DETECTOR_ATTACK_UTIL_H_
#define EFFROBUST_ATTACKS_DETECTOR_ATTACK_UTIL_H_

#include <torch/torch.h>

#include <vector>

#include "models/detection_victim.h"

namespace effrobust {

// Puts the detector in eval mode and switches its parameters' gradients
// off for the object's lifetime (restored after), with gradients on.
class FrozenDetector {
 public:
  explicit FrozenDetector(DetectionVictim& model);
  ~FrozenDetector();
  FrozenDetector(const FrozenDetector&) = delete;
  FrozenDetector& operator=(const FrozenDetector&) = delete;

 private:
  torch::AutoGradMode grad_on_{true};
  std::vector<torch::Tensor> frozen_;
};

// Candidates per image whose score is >= threshold: [B] int64.
torch::Tensor CountAbove(const torch::Tensor& scores, double threshold);

// Overload's spatial attention: per image, the canvas (side `size`) split
// into grid x grid cells, the number of boxes with score > threshold
// overlapping each cell counted, the cell with the fewest weighted 2 and
// the rest 1, all scaled so the largest weight is 1/255. [B, 1, size, size].
torch::Tensor SparseCellWeights(const torch::Tensor& boxes, const torch::Tensor& scores,
                                double threshold, int64_t grid, int64_t size);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_DETECTOR_ATTACK_UTIL_H_
