#include "attacks/detector_attack_util.h"

#include <algorithm>

namespace effrobust {

FrozenDetector::FrozenDetector(DetectionVictim& model) {
  model.module().eval();
  for (auto& p : model.module().parameters()) {
    if (p.requires_grad()) {
      frozen_.push_back(p);
      p.set_requires_grad(false);
    }
  }
}

FrozenDetector::~FrozenDetector() {
  for (auto& p : frozen_) p.set_requires_grad(true);
}

torch::Tensor CountAbove(const torch::Tensor& scores, double threshold) {
  return scores.detach().ge(threshold).sum(1);
}

torch::Tensor SparseCellWeights(const torch::Tensor& boxes, const torch::Tensor& scores,
                                double threshold, int64_t grid, int64_t size) {
  const int64_t b = boxes.size(0);
  torch::Tensor out = torch::empty({b, 1, size, size});
  torch::Tensor bx = boxes.cpu().to(torch::kFloat64).contiguous();
  torch::Tensor sc = scores.cpu().to(torch::kFloat64).contiguous();
  auto ba = bx.accessor<double, 3>();
  auto sa = sc.accessor<double, 2>();
  for (int64_t i = 0; i < b; ++i) {
    std::vector<int64_t> count(static_cast<size_t>(grid * grid), 0);
    for (int64_t n = 0; n < bx.size(1); ++n) {
      if (!(sa[i][n] > threshold)) continue;
      for (int64_t gy = 0; gy < grid; ++gy) {
        for (int64_t gx = 0; gx < grid; ++gx) {
          const double x0 = static_cast<double>(gx * size) / grid;
          const double x1 = static_cast<double>((gx + 1) * size) / grid;
          const double y0 = static_cast<double>(gy * size) / grid;
          const double y1 = static_cast<double>((gy + 1) * size) / grid;
          if (ba[i][n][0] < x1 && ba[i][n][2] > x0 && ba[i][n][1] < y1 && ba[i][n][3] > y0) {
            ++count[static_cast<size_t>(gy * grid + gx)];
          }
        }
      }
    }
    const int64_t fewest =
        std::min_element(count.begin(), count.end()) - count.begin();  // first on ties
    torch::Tensor w = torch::full({size, size}, 0.5 / 255.0);
    const int64_t gy = fewest / grid, gx = fewest % grid;
    w.slice(0, gy * size / grid, (gy + 1) * size / grid)
        .slice(1, gx * size / grid, (gx + 1) * size / grid)
        .fill_(1.0 / 255.0);
    out[i][0] = w;
  }
  return out.to(boxes.device());
}

}  // namespace effrobust
