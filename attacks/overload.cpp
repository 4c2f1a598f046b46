#include "attacks/overload.h"

#include <string>

#include "attacks/detector_attack_util.h"
#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

torch::Tensor OverloadLoss(const torch::Tensor& scores, double threshold) {
  // ART sums the class probabilities after setting those above the
  // threshold to 1; with this softmax class head that sum exceeds 1 on
  // cells already above the threshold and would push them down, so those
  // cells count as done (conf 1) and the others bring their score.
  torch::Tensor conf =
      torch::where(scores.gt(threshold), torch::ones_like(scores), scores);  // [B, N]
  return -(1 - conf).pow(2).sum();
}

torch::Tensor Overload(DetectionVictim& model, const torch::Tensor& images,
                       const OverloadOptions& o) {
  if (!(o.eps > 0 && o.eps <= 1) || o.iterations < 1 || o.grid < 1 ||
      !(o.threshold > 0 && o.threshold < 1)) {
    throw AttackError(
        "attack 'overload': need 0 < eps <= 1, iterations >= 1, grid >= 1, "
        "0 < threshold < 1 (eps " +
        std::to_string(o.eps) + ", iterations " + std::to_string(o.iterations) + ")");
  }
  FrozenDetector frozen(model);
  const torch::Tensor x0 = images.detach();
  torch::Tensor x = x0.clone();
  const int64_t s = x.size(2);
  for (int64_t it = 0; it < o.iterations; ++it) {
    ReportProgress();  // heartbeats while one batch runs long
    torch::Tensor adv = x.clone().requires_grad_(true);
    DetectorCandidates c = model.RawCandidates(adv);
    torch::Tensor loss = OverloadLoss(c.scores, o.threshold);
    torch::Tensor grad = torch::autograd::grad({loss}, {adv})[0];
    torch::Tensor weights = SparseCellWeights(c.boxes.detach(), c.scores.detach(), o.threshold,
                                              o.grid, s);  // [B, 1, S, S]
    x = torch::min(torch::max(x + weights * grad.sign(), x0 - o.eps), x0 + o.eps).clamp(0, 1);
  }
  return x.detach();
}

torch::Tensor Overload(Detector& model, const torch::Tensor& images, const OverloadOptions& o) {
  return Overload(*model, images, o);
}

}  // namespace effrobust
