#include "evaluation/latency.h"

#include <algorithm>
#include <cmath>

#include "common/log.h"

namespace effrobust {

double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2.0;
}

double MedianLatencyMs(const std::function<void()>& fn, int warmup, int repeats) {
  if (repeats <= 0) return std::nan("");
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  times.reserve(repeats);
  for (int i = 0; i < repeats; ++i) {
    const double t0 = MonotonicSeconds();
    fn();
    times.push_back((MonotonicSeconds() - t0) * 1e3);
  }
  return Median(std::move(times));
}

}  // namespace effrobust
