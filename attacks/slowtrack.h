// SlowTrack (Ma et al., AAAI 2024; attacks.md 15), as its public code does
// it, against a detection victim (the grid detector or a scripted one)
// feeding the tracker: consecutive frames are
// attacked in pairs sharing one perturbation delta, so a phantom box
// persists over two frames and the tracker confirms it (a confirmed track
// is then held for track_buffer frames after it vanishes). Per pair p the
// cells are cut into `slices` equal runs and run k = p mod slices is
// weighted extra (a moving sub-region, as the original's strategy index):
//   loss = selected_weight * sum_{run k, both frames} (s_n - 1)^2
//        + sum_{all cells, both frames} (s_n - 1)^2,
//   delta <- delta - step * grad / ||grad||_2, frames = clamp(x + delta, 0, 1).
// No norm bound, as the reference (it only reports the size); the step
// default scales the reference's 1.5 on 3 x 800 x 1440 inputs to the
// number of pixels here. Deterministic.
#ifndef EFFROBUST_ATTACKS_SLOWTRACK_H_
#define EFFROBUST_ATTACKS_SLOWTRACK_H_

#include <torch/torch.h>

#include "models/detection_victim.h"
#include "models/detector.h"

namespace effrobust {

struct SlowTrackOptions {
  int64_t iterations = 220;  // Default: 220 (per frame pair, as the reference)
  double step = 0;      // Default: 0 = 1.5 * sqrt(pixels / (3 * 800 * 1440)) (0.0516 on 64 x 64)
  int64_t slices = 15;  // Default: 15
  double selected_weight = 10;  // Default: 10
};

// Adversarial frames [T, C, S, S] of a sequence's frames: pairs (0, 1),
// (2, 3), ... share a perturbation (an odd last frame is attacked alone);
// the cells of the slices are the model's candidates in its order.
// Throws AttackError on bad options. The model stays in eval mode and its
// parameters get no gradient.
torch::Tensor SlowTrack(DetectionVictim& model, const torch::Tensor& frames,
                        const SlowTrackOptions& options);
// SlowTrack(*model, ...).
torch::Tensor SlowTrack(Detector& model, const torch::Tensor& frames,
                        const SlowTrackOptions& options);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_SLOWTRACK_H_
