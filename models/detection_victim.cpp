#include "models/detection_victim.h"

#include <algorithm>
#include <chrono>

namespace effrobust {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

DetectionBatch DetectionVictim::Detect(const torch::Tensor& images, const DetectOptions& options) {
  torch::NoGradGuard no_grad;
  DetectionBatch out;
  auto start = std::chrono::steady_clock::now();
  DetectorCandidates c = RawCandidates(images);
  torch::Tensor scores = c.scores.contiguous().cpu();
  torch::Tensor labels = c.labels.contiguous().cpu();
  torch::Tensor boxes = c.boxes.contiguous().cpu();
  out.network_seconds = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  const int64_t b = scores.size(0), n = scores.size(1);
  const float* s = scores.data_ptr<float>();
  const int64_t* l = labels.data_ptr<int64_t>();
  const float* x = boxes.data_ptr<float>();
  out.boxes.resize(static_cast<size_t>(b));
  out.candidates.assign(static_cast<size_t>(b), 0);
  for (int64_t i = 0; i < b; ++i) {
    std::vector<Detection> candidates;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = i * n + j;
      if (!(s[k] >= options.conf_threshold)) continue;
      Detection d;
      d.x0 = x[4 * k];
      d.y0 = x[4 * k + 1];
      d.x1 = x[4 * k + 2];
      d.y1 = x[4 * k + 3];
      d.score = s[k];
      d.label = l[k];
      candidates.push_back(d);
    }
    out.candidates[static_cast<size_t>(i)] = static_cast<int64_t>(candidates.size());
    if (options.max_candidates > 0 &&
        static_cast<int64_t>(candidates.size()) > options.max_candidates) {
      std::partial_sort(candidates.begin(), candidates.begin() + options.max_candidates,
                        candidates.end(),
                        [](const Detection& a, const Detection& b) { return a.score > b.score; });
      candidates.resize(static_cast<size_t>(options.max_candidates));
    }
    out.boxes[static_cast<size_t>(i)] = Nms(std::move(candidates), options.nms);
  }
  out.nms_seconds = SecondsSince(start);
  return out;
}

}  // namespace effrobust
