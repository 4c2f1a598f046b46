#include "evaluation/metric_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "evaluation/d2_summary.h"
#include "evaluation/d3_summary.h"

namespace effrobust {

void MetricPool::Add(const std::map<std::string, double>& metrics) {
  auto it = metrics.find("samples");
  const double s = it == metrics.end() ? 0 : it->second;
  n_ += s;
  units_.emplace_back(s, metrics);
}

double MetricPool::Mean(const std::string& k) const {
  double weighted = 0, weight = 0;
  for (const auto& [s, m] : units_) {
    auto it = m.find(k);
    if (it == m.end() || !std::isfinite(it->second)) continue;
    weighted += s * it->second;
    weight += s;
  }
  return weight > 0 ? weighted / weight : std::nan("");
}

double MetricPool::Max(const std::string& k) const {
  double weight = 0, largest = std::nan("");
  for (const auto& [s, m] : units_) {
    auto it = m.find(k);
    if (it == m.end() || !std::isfinite(it->second)) continue;
    weight += s;
    largest = std::isnan(largest) ? it->second : std::max(largest, it->second);
  }
  return weight < n_ ? std::nan("") : largest;
}

double MetricPool::Bleu(const std::string& which) const {
  if (units_.empty()) return std::nan("");
  BleuStats sum;
  for (const auto& [s, m] : units_) {
    BleuStats stats;
    if (!BleuStatsFromMetrics(m, which, &stats)) return std::nan("");
    sum.Add(stats);  // an empty sum takes the first unit's max_n
  }
  return sum.Score();
}

double MetricPool::Mota(const std::string& key) const {
  if (units_.empty()) return std::nan("");
  int64_t truth = 0, errors = 0;
  for (const auto& [s, m] : units_) {
    MotaResult r;
    if (!MotaFromMetrics(m, key, &r)) return std::nan("");
    truth += r.truth;
    errors += r.false_negatives + r.false_positives + r.id_switches;
  }
  if (truth <= 0) return std::nan("");
  return 1.0 - static_cast<double>(errors) / static_cast<double>(truth);
}

}  // namespace effrobust
