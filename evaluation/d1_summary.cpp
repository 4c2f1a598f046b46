#include "evaluation/d1_summary.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "evaluation/efficacy.h"

namespace effrobust {
namespace {

double Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double Agreement(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.empty()) return std::nan("");
  double same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i] ? 1 : 0;
  return same / static_cast<double>(a.size());
}

double Ratio(double num, double den) { return den > 0 ? num / den : std::nan(""); }

// Mean over samples of num[i] / den[i] (samples with den 0 left out).
double MeanRatio(const std::vector<double>& num, const std::vector<double>& den) {
  double s = 0, n = 0;
  for (size_t i = 0; i < num.size() && i < den.size(); ++i) {
    if (den[i] > 0) {
      s += num[i] / den[i];
      n += 1;
    }
  }
  return n > 0 ? s / n : std::nan("");
}

}  // namespace

const std::vector<std::pair<std::string, double>>& RadLevels() {
  static const std::vector<std::pair<std::string, double>> levels = {{"rad5", 0.05},
                                                                     {"rad15", 0.15}};
  return levels;
}

D1Layout EarlyExitLayout(const std::vector<double>& exit_flops) {
  D1Layout l;
  l.metric = "exit";
  for (const auto& [rad, unused] : RadLevels()) l.points.push_back(rad);
  l.full_flops = exit_flops.empty() ? 0 : exit_flops.back();
  l.exit_flops = exit_flops;
  return l;
}

std::string PointSuffix(const std::string& point) { return point.empty() ? "" : "_" + point; }

std::vector<double> ColumnValues(const RowBatch& rows, const std::string& name) {
  const Column& c = rows.Get(name);
  if (c.is_text) throw ResultsError("row batch: column '" + name + "' holds text, not numbers");
  if (c.is_int) return std::vector<double>(c.ints.begin(), c.ints.end());
  return c.reals;
}

std::map<std::string, double> SummarizeD1(const RowBatch& rows, const D1Layout& layout) {
  std::map<std::string, double> m;
  const auto& labels = rows.Get("label").ints;
  m["samples"] = static_cast<double>(labels.size());
  m["clean_acc"] = Agreement(rows.Get("pred_clean").ints, labels);
  m["adv_acc"] = Agreement(rows.Get("pred_adv").ints, labels);
  const auto& linf = rows.Get("linf").reals;
  m["mean_linf"] = Mean(linf);
  m["max_linf"] = linf.empty() ? std::nan("") : *std::max_element(linf.begin(), linf.end());
  m["mean_l2"] = Mean(rows.Get("l2").reals);
  m["full_flops"] = layout.full_flops;

  std::vector<double> relative;
  for (double f : layout.exit_flops) relative.push_back(f / layout.exit_flops.back());

  for (const std::string& point : layout.points) {
    const std::string s = PointSuffix(point);
    m["dyn_clean_acc" + s] = Agreement(rows.Get("dynpred_clean" + s).ints, labels);
    m["dyn_adv_acc" + s] = Agreement(rows.Get("dynpred_adv" + s).ints, labels);
    const auto metric_clean = ColumnValues(rows, layout.metric + "_clean" + s);
    const auto metric_adv = ColumnValues(rows, layout.metric + "_adv" + s);
    m["mean_" + layout.metric + "_clean" + s] = Mean(metric_clean);
    m["mean_" + layout.metric + "_adv" + s] = Mean(metric_adv);
    if (!layout.exit_flops.empty()) {
      std::vector<int64_t> exit_clean(metric_clean.begin(), metric_clean.end());
      std::vector<int64_t> exit_adv(metric_adv.begin(), metric_adv.end());
      const double eff_clean = Efficacy(exit_clean, relative);
      const double eff_adv = Efficacy(exit_adv, relative);
      m["efficacy_clean" + s] = eff_clean;
      m["efficacy_adv" + s] = eff_adv;
      m["efficacy_drop" + s] = eff_clean > 0 ? 1.0 - eff_adv / eff_clean : std::nan("");
    }
    const double flops_clean = Mean(rows.Get("flops_clean" + s).reals);
    const double flops_adv = Mean(rows.Get("flops_adv" + s).reals);
    m["mean_flops_clean" + s] = flops_clean;
    m["mean_flops_adv" + s] = flops_adv;
    m["flops_ratio" + s] = Ratio(flops_adv, flops_clean);
    m["recovered_flops" + s] = RecoveredFlops(flops_clean, flops_adv, layout.full_flops);
    const auto& e_clean = rows.Get("energy_clean_pj" + s).reals;
    const auto& e_adv = rows.Get("energy_adv_pj" + s).reals;
    m["mean_energy_clean_pj" + s] = Mean(e_clean);
    m["mean_energy_adv_pj" + s] = Mean(e_adv);
    m["energy_ratio" + s] = Ratio(Mean(e_adv), Mean(e_clean));
    m["sponge_score_clean" + s] = MeanRatio(e_clean, rows.Get("energy_worst_clean_pj" + s).reals);
    m["sponge_score_adv" + s] = MeanRatio(e_adv, rows.Get("energy_worst_adv_pj" + s).reals);
    m["density_clean" + s] = Mean(rows.Get("density_clean" + s).reals);
    m["density_adv" + s] = Mean(rows.Get("density_adv" + s).reals);
    const double lat_clean = Mean(rows.Get("latency_clean_ms" + s).reals);
    const double lat_adv = Mean(rows.Get("latency_adv_ms" + s).reals);
    m["mean_latency_clean_ms" + s] = lat_clean;
    m["mean_latency_adv_ms" + s] = lat_adv;
    m["latency_ratio" + s] = Ratio(lat_adv, lat_clean);
  }
  return m;
}

}  // namespace effrobust
