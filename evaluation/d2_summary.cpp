#include "evaluation/d2_summary.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "evaluation/d1_summary.h"

namespace effrobust {
namespace {

constexpr int kBleuOrder = 4;

double Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Largest value; NaN if empty or any value is NaN.
double Max(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double m = -INFINITY;
  for (double x : v) {
    if (std::isnan(x)) return std::nan("");
    m = std::max(m, x);
  }
  return m;
}

}  // namespace

double ILoops(double steps_clean, double steps_adv) {
  return (steps_adv + 1.0) / (steps_clean + 1.0) - 1.0;
}

std::map<std::string, double> SummarizeD2(const RowBatch& rows) {
  std::map<std::string, double> m;
  const size_t n = rows.rows();
  m["samples"] = static_cast<double>(n);
  const std::vector<double> steps_clean = ColumnValues(rows, "steps_clean");
  const std::vector<double> steps_adv = ColumnValues(rows, "steps_adv");
  const std::vector<double> lat_clean = ColumnValues(rows, "latency_clean_ms");
  const std::vector<double> lat_adv = ColumnValues(rows, "latency_adv_ms");
  std::vector<double> iloops(n), ilatency(n);
  for (size_t i = 0; i < n; ++i) {
    iloops[i] = ILoops(steps_clean[i], steps_adv[i]);
    ilatency[i] = lat_adv[i] / lat_clean[i] - 1.0;
  }
  m["mean_iloops"] = Mean(iloops);
  m["max_iloops"] = Max(iloops);
  m["mean_ilatency"] = Mean(ilatency);
  m["max_ilatency"] = Max(ilatency);
  for (const std::string which : {"clean", "adv"}) {
    m["mean_steps_" + which] = Mean(ColumnValues(rows, "steps_" + which));
    m["mean_length_" + which] = Mean(ColumnValues(rows, "length_" + which));
    m["ended_" + which] = Mean(ColumnValues(rows, "ended_" + which));
    m["mean_pend_" + which] = Mean(ColumnValues(rows, "pend_mean_" + which));
    m["max_pend_" + which] = Max(ColumnValues(rows, "pend_max_" + which));
    m["mean_latency_" + which + "_ms"] = Mean(ColumnValues(rows, "latency_" + which + "_ms"));
  }
  m["latency_ratio"] = m["mean_latency_adv_ms"] / m["mean_latency_clean_ms"];
  for (const std::string column : {"l2", "linf", "edits"}) {
    if (!rows.Has(column)) continue;
    const std::vector<double> v = ColumnValues(rows, column);
    m["mean_" + column] = Mean(v);
    m["max_" + column] = Max(v);
  }
  return m;
}

void AddBleuMetrics(const std::string& which, const BleuStats& stats,
                    std::map<std::string, double>* metrics) {
  auto& m = *metrics;
  m["bleu4_" + which] = stats.Score();
  const std::string p = "bleu_" + which + "_";
  for (int n = 0; n < kBleuOrder; ++n) {
    const size_t k = static_cast<size_t>(n);
    m[p + "match" + std::to_string(n + 1)] = k < stats.matched.size() ? stats.matched[k] : 0;
    m[p + "total" + std::to_string(n + 1)] = k < stats.total.size() ? stats.total[k] : 0;
  }
  m[p + "hyp_len"] = stats.candidate_length;
  m[p + "ref_len"] = stats.reference_length;
}

bool BleuStatsFromMetrics(const std::map<std::string, double>& metrics, const std::string& which,
                          BleuStats* stats) {
  const std::string p = "bleu_" + which + "_";
  auto get = [&](const std::string& key, double* out) {
    auto it = metrics.find(p + key);
    if (it == metrics.end() || !std::isfinite(it->second)) return false;
    *out = it->second;
    return true;
  };
  BleuStats s;
  s.matched.assign(kBleuOrder, 0);
  s.total.assign(kBleuOrder, 0);
  for (int n = 0; n < kBleuOrder; ++n) {
    if (!get("match" + std::to_string(n + 1), &s.matched[static_cast<size_t>(n)]) ||
        !get("total" + std::to_string(n + 1), &s.total[static_cast<size_t>(n)])) {
      return false;
    }
  }
  if (!get("hyp_len", &s.candidate_length) || !get("ref_len", &s.reference_length)) return false;
  *stats = s;
  return true;
}

}  // namespace effrobust
