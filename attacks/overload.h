// Overload (Chen et al., CVPR 2024), as ART's OverloadPyTorch implements it
// (attacks.md 13.3), against a detection victim (the grid detector or a
// scripted one): push every cell's
// confidence towards 1 so that "ghost" candidates flood NMS, spending the
// step where boxes are sparsest. Per iteration and image:
//   conf_n = 1 where s_n = obj_n max_c p_nc > threshold, else s_n (ART:
//   obj_n sum_c p'_nc with p'_nc = 1 where obj_n p_nc > threshold, made for
//   YOLOv5's independent class sigmoids; with this detector's softmax
//   classes that sum would pull boxes already above the threshold down);
//   loss = sum_n -(1 - conf_n)^2, ascended;
//   weights: split the image into grid x grid cells, count the boxes above
//   the threshold overlapping each, double the weight of the cell with the
//   fewest, scale so the largest weight is 1/255;
//   x <- clip(x + weights * sign(grad), x0 - eps, x0 + eps) and to [0, 1].
// Weights are computed per image (ART rescales the whole batch inside its
// per-image loop, a bug we do not copy). Deterministic.
#ifndef EFFROBUST_ATTACKS_OVERLOAD_H_
#define EFFROBUST_ATTACKS_OVERLOAD_H_

#include <torch/torch.h>

#include "models/detection_victim.h"
#include "models/detector.h"

namespace effrobust {

struct OverloadOptions {
  double eps = 16.0 / 255;  // Default: 16/255 (L-inf budget, as ART's notebook)
  int64_t iterations = 10;  // Default: 10 (ART's test)
  int64_t grid = 8;         // Default: 8 (ART: 10 on 640 x 640; 8 matches the 8 x 8 cells)
  double threshold = 0.25;  // Default: 0.25 (score threshold of a box)
};

// Overload's objective (ascended), a scalar: sum over images and cells of
// -(1 - conf_n)^2 with conf_n = 1 where scores > threshold, else the score
// (see top of file). `scores`: DetectorCandidates::scores [B, N]; keeps
// their graph. Also used by efficiency-aware adversarial training
// (models/adversarial_training.h).
torch::Tensor OverloadLoss(const torch::Tensor& scores, double threshold);

// Adversarial images [B, C, S, S] within eps of `images` (L-inf) and in
// [0, 1]. Throws AttackError on bad options. The model stays in eval mode
// and its parameters get no gradient.
torch::Tensor Overload(DetectionVictim& model, const torch::Tensor& images,
                       const OverloadOptions& options);
// Overload(*model, ...).
torch::Tensor Overload(Detector& model, const torch::Tensor& images,
                       const OverloadOptions& options);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_OVERLOAD_H_
