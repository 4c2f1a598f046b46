#include "evaluation/d1_summary.h"

#include <algorithm>
#include <cmath>

#include "evaluation/efficacy.h"

namespace effrobust {
namespace {

double Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double MeanInts(const std::vector<int64_t>& v) {
  std::vector<double> d(v.begin(), v.end());
  return Mean(d);
}

double Agreement(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.empty()) return std::nan("");
  double same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i] ? 1 : 0;
  return same / static_cast<double>(a.size());
}

double Ratio(double num, double den) { return den > 0 ? num / den : std::nan(""); }

}  // namespace

const std::vector<std::pair<std::string, double>>& RadLevels() {
  static const std::vector<std::pair<std::string, double>> levels = {{"rad5", 0.05},
                                                                     {"rad15", 0.15}};
  return levels;
}

std::map<std::string, double> SummarizeD1(const RowBatch& rows,
                                          const std::vector<double>& exit_flops) {
  std::map<std::string, double> m;
  const auto& labels = rows.Get("label").ints;
  m["samples"] = static_cast<double>(labels.size());
  m["clean_acc"] = Agreement(rows.Get("pred_clean").ints, labels);
  m["adv_acc"] = Agreement(rows.Get("pred_adv").ints, labels);
  const auto& linf = rows.Get("linf").reals;
  m["mean_linf"] = Mean(linf);
  m["max_linf"] = linf.empty() ? std::nan("") : *std::max_element(linf.begin(), linf.end());
  m["mean_l2"] = Mean(rows.Get("l2").reals);

  std::vector<double> relative(exit_flops.size());
  for (size_t i = 0; i < exit_flops.size(); ++i) relative[i] = exit_flops[i] / exit_flops.back();

  for (const auto& [rad, unused] : RadLevels()) {
    const auto& exit_clean = rows.Get("exit_clean_" + rad).ints;
    const auto& exit_adv = rows.Get("exit_adv_" + rad).ints;
    m["ee_clean_acc_" + rad] = Agreement(rows.Get("eepred_clean_" + rad).ints, labels);
    m["ee_adv_acc_" + rad] = Agreement(rows.Get("eepred_adv_" + rad).ints, labels);
    m["mean_exit_clean_" + rad] = MeanInts(exit_clean);
    m["mean_exit_adv_" + rad] = MeanInts(exit_adv);
    const double eff_clean = Efficacy(exit_clean, relative);
    const double eff_adv = Efficacy(exit_adv, relative);
    m["efficacy_clean_" + rad] = eff_clean;
    m["efficacy_adv_" + rad] = eff_adv;
    m["efficacy_drop_" + rad] = eff_clean > 0 ? 1.0 - eff_adv / eff_clean : std::nan("");
    const double flops_clean = Mean(rows.Get("flops_clean_" + rad).reals);
    const double flops_adv = Mean(rows.Get("flops_adv_" + rad).reals);
    m["mean_flops_clean_" + rad] = flops_clean;
    m["mean_flops_adv_" + rad] = flops_adv;
    m["flops_ratio_" + rad] = Ratio(flops_adv, flops_clean);
    m["recovered_flops_" + rad] = RecoveredFlops(flops_clean, flops_adv, exit_flops.back());
    const double lat_clean = Mean(rows.Get("latency_clean_ms_" + rad).reals);
    const double lat_adv = Mean(rows.Get("latency_adv_ms_" + rad).reals);
    m["mean_latency_clean_ms_" + rad] = lat_clean;
    m["mean_latency_adv_ms_" + rad] = lat_adv;
    m["latency_ratio_" + rad] = Ratio(lat_adv, lat_clean);
  }
  return m;
}

}  // namespace effrobust
