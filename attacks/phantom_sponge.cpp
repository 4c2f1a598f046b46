#include "attacks/phantom_sponge.h"

#include <string>

#include "attacks/detector_attack_util.h"
#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

namespace {

void Check(const PhantomSpongeOptions& o) {
  if (!(o.threshold > 0 && o.threshold < 1) || !(o.lambda1 >= 0 && o.lambda1 <= 1) ||
      o.lambda2 < 0 || !(o.eps > 0) || !(o.step > 0) || o.iterations < 1 || o.epochs < 1 ||
      o.batch < 1) {
    throw AttackError(
        "attack 'phantom_sponge': need 0 < threshold < 1, 0 <= lambda1 <= 1, "
        "lambda2 >= 0, eps > 0, step > 0, iterations, epochs, batch >= 1 "
        "(threshold " +
        std::to_string(o.threshold) + ", eps " + std::to_string(o.eps) + ")");
  }
}

// Projects each sample of p onto the L2 ball of radius eps.
torch::Tensor ProjectL2(const torch::Tensor& p, double eps) {
  torch::Tensor norm = p.flatten(1).norm(2, 1).clamp_min(1e-12).view({-1, 1, 1, 1});
  return p * torch::clamp(eps / norm, c10::nullopt, 1.0);
}

// Differentiable IoU of box a [4] with boxes b [M, 4] (x0, y0, x1, y1).
torch::Tensor BoxIoU(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor ix =
      (torch::min(a[2], b.select(1, 2)) - torch::max(a[0], b.select(1, 0))).clamp_min(0);
  torch::Tensor iy =
      (torch::min(a[3], b.select(1, 3)) - torch::max(a[1], b.select(1, 1))).clamp_min(0);
  torch::Tensor inter = ix * iy;
  torch::Tensor area_a = (a[2] - a[0]) * (a[3] - a[1]);
  torch::Tensor area_b = (b.select(1, 2) - b.select(1, 0)) * (b.select(1, 3) - b.select(1, 1));
  return inter / (area_a + area_b - inter).clamp_min(1e-9);
}

std::vector<std::vector<Detection>> CleanDetections(DetectionVictim& model,
                                                    const torch::Tensor& x, double threshold) {
  DetectOptions d;
  d.conf_threshold = static_cast<float>(threshold);
  return model.Detect(x, d).boxes;
}

}  // namespace

torch::Tensor PhantomSpongeLoss(DetectionVictim& model, const torch::Tensor& x_adv,
                                const std::vector<std::vector<Detection>>& clean,
                                const PhantomSpongeOptions& o) {
  DetectorCandidates c = model.RawCandidates(x_adv);
  const double t = o.threshold;
  const int64_t b = c.scores.size(0), n = c.scores.size(1);
  const double area = static_cast<double>(x_adv.size(2) * x_adv.size(3));
  torch::Tensor below = c.scores.lt(t).to(c.scores.dtype());
  torch::Tensor max_obj = ((t - c.scores) * below).sum() / static_cast<double>(b * n);
  torch::Tensor boxes = c.boxes;  // [B, N, 4]
  torch::Tensor box_area =
      (boxes.select(2, 2) - boxes.select(2, 0)) * (boxes.select(2, 3) - boxes.select(2, 1));
  torch::Tensor kept = c.objectness.gt(t).logical_and(c.scores.gt(t)).to(box_area.dtype());
  torch::Tensor bbox = ((box_area * kept).sum(1) / kept.sum(1).clamp_min(1) / area).mean();
  torch::Tensor loss = o.lambda1 * max_obj + o.lambda2 * bbox;
  if (o.lambda1 < 1) {
    std::vector<torch::Tensor> best;
    for (int64_t i = 0; i < b; ++i) {
      for (const Detection& d : clean[static_cast<size_t>(i)]) {
        torch::Tensor same = c.labels[i].eq(d.label).logical_and(c.scores[i].gt(0.001));
        torch::Tensor idx = same.nonzero().squeeze(1);
        if (idx.numel() == 0) {
          best.push_back(torch::zeros({}, box_area.options()));
          continue;
        }
        torch::Tensor a = torch::tensor({d.x0, d.y0, d.x1, d.y1}, box_area.options());
        best.push_back(BoxIoU(a, boxes[i].index_select(0, idx)).max());
      }
    }
    torch::Tensor iou =
        best.empty() ? torch::zeros({}, box_area.options()) : 1 - torch::stack(best).mean();
    loss = loss + (1 - o.lambda1) * iou;
  }
  return loss;
}

torch::Tensor PhantomSponge(DetectionVictim& model, const torch::Tensor& images,
                            const PhantomSpongeOptions& o) {
  Check(o);
  FrozenDetector frozen(model);
  const torch::Tensor x = images.detach();
  std::vector<std::vector<Detection>> clean;
  if (o.lambda1 < 1) clean = CleanDetections(model, x, o.threshold);
  torch::Tensor p = torch::zeros_like(x);
  for (int64_t it = 0; it < o.iterations; ++it) {
    ReportProgress();  // heartbeats while one batch runs long
    torch::Tensor pv = p.clone().requires_grad_(true);
    torch::Tensor loss = PhantomSpongeLoss(model, (x + pv).clamp(0, 1), clean, o);
    torch::Tensor grad = torch::autograd::grad({loss}, {pv})[0];
    p = ProjectL2((x + p - o.step * grad.sign()).clamp(0, 1) - x, o.eps);
  }
  return (x + p).clamp(0, 1).detach();
}

torch::Tensor PhantomSpongeFit(DetectionVictim& model, const torch::Tensor& fit_images,
                               const PhantomSpongeOptions& o) {
  Check(o);
  FrozenDetector frozen(model);
  const torch::Tensor x = fit_images.detach();
  std::vector<std::vector<Detection>> clean_all;
  if (o.lambda1 < 1) clean_all = CleanDetections(model, x, o.threshold);
  torch::Tensor p = torch::zeros_like(x[0]).unsqueeze(0);
  const int64_t n = x.size(0);
  for (int64_t e = 0; e < o.epochs; ++e) {
    for (int64_t s = 0; s < n; s += o.batch) {
      ReportProgress();  // heartbeats while one batch runs long
      const int64_t end = std::min(n, s + o.batch);
      torch::Tensor xb = x.slice(0, s, end);
      std::vector<std::vector<Detection>> clean;
      if (!clean_all.empty()) clean.assign(clean_all.begin() + s, clean_all.begin() + end);
      torch::Tensor pv = p.clone().requires_grad_(true);
      torch::Tensor loss = PhantomSpongeLoss(model, (xb + pv).clamp(0, 1), clean, o);
      torch::Tensor grad = torch::autograd::grad({loss}, {pv})[0];
      p = ProjectL2((p - o.step * grad.sign()).clamp(-1, 1), o.eps);
    }
  }
  return p.detach();
}

torch::Tensor PhantomSpongeLoss(Detector& model, const torch::Tensor& x_adv,
                                const std::vector<std::vector<Detection>>& clean,
                                const PhantomSpongeOptions& o) {
  return PhantomSpongeLoss(*model, x_adv, clean, o);
}

torch::Tensor PhantomSponge(Detector& model, const torch::Tensor& images,
                            const PhantomSpongeOptions& o) {
  return PhantomSponge(*model, images, o);
}

torch::Tensor PhantomSpongeFit(Detector& model, const torch::Tensor& fit_images,
                               const PhantomSpongeOptions& o) {
  return PhantomSpongeFit(*model, fit_images, o);
}

}  // namespace effrobust
