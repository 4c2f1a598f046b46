#include "attacks/slowtrack.h"

#include <cmath>
#include <string>

#include "attacks/detector_attack_util.h"
#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

torch::Tensor SlowTrack(DetectionVictim& model, const torch::Tensor& frames,
                        const SlowTrackOptions& o) {
  if (o.iterations < 1 || o.step < 0 || o.slices < 1 || o.selected_weight < 0 ||
      frames.dim() != 4) {
    throw AttackError(
        "attack 'slowtrack': need iterations >= 1, step >= 0, slices >= 1, "
        "selected_weight >= 0 and frames [T, 1, S, S] (iterations " +
        std::to_string(o.iterations) + ", slices " + std::to_string(o.slices) + ")");
  }
  FrozenDetector frozen(model);
  const double pixels = static_cast<double>(frames[0].numel());
  const double step = o.step > 0 ? o.step : 1.5 * std::sqrt(pixels / (3.0 * 800 * 1440));
  const int64_t t = frames.size(0);
  std::vector<torch::Tensor> out;
  for (int64_t first = 0, pair = 0; first < t; first += 2, ++pair) {
    torch::Tensor x = frames.slice(0, first, std::min(t, first + 2)).detach();
    const int64_t k = pair % o.slices;
    torch::Tensor weight;  // [N], once the first pass shows the candidates N
    torch::Tensor delta = torch::zeros_like(x[0]);
    for (int64_t it = 0; it < o.iterations; ++it) {
      ReportProgress();  // heartbeats while one batch runs long
      torch::Tensor d = delta.clone().requires_grad_(true);
      DetectorCandidates c = model.RawCandidates((x + d).clamp(0, 1));
      if (!weight.defined()) {
        const int64_t cells = c.scores.size(1);
        weight = torch::ones({cells});
        weight.slice(0, k * cells / o.slices, (k + 1) * cells / o.slices)
            .fill_(1 + o.selected_weight);
      }
      torch::Tensor loss = ((c.scores - 1).pow(2) * weight.to(c.scores.device())).sum();
      torch::Tensor grad = torch::autograd::grad({loss}, {d})[0];
      delta = delta - step * grad / grad.norm().clamp_min(1e-12);
    }
    out.push_back((x + delta).clamp(0, 1));
  }
  return torch::cat(out, 0).detach();
}

torch::Tensor SlowTrack(Detector& model, const torch::Tensor& frames, const SlowTrackOptions& o) {
  return SlowTrack(*model, frames, o);
}

}  // namespace effrobust
