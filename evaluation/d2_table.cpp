#include "evaluation/d2_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "evaluation/d2_summary.h"
#include "evaluation/table_cells.h"

namespace effrobust {
namespace {

// One group's units pooled: sample-weighted means, largest maxima, summed
// BLEU statistics.
struct D2Pool {
  double n = 0;
  std::map<std::string, double> weighted;  // sum of samples * metric (finite only)
  std::map<std::string, double> weight;    // sum of samples where the metric is finite
  std::map<std::string, double> largest;   // max over units (finite only)
  std::map<std::string, BleuStats> bleu;   // "clean" / "adv"
  std::map<std::string, bool> bleu_complete;

  void Add(const std::map<std::string, double>& m) {
    auto it = m.find("samples");
    const double s = it == m.end() ? 0 : it->second;
    n += s;
    for (const auto& [k, v] : m) {
      if (!std::isfinite(v)) continue;
      weighted[k] += s * v;
      weight[k] += s;
      auto l = largest.find(k);
      largest[k] = l == largest.end() ? v : std::max(l->second, v);
    }
    for (const std::string which : {"clean", "adv"}) {
      BleuStats stats;
      const bool ok = BleuStatsFromMetrics(m, which, &stats);
      auto c = bleu_complete.find(which);
      bleu_complete[which] = (c == bleu_complete.end() || c->second) && ok;
      if (ok) bleu[which].Add(stats);
    }
  }
  double Mean(const std::string& k) const {
    auto w = weight.find(k);
    if (w == weight.end() || w->second <= 0) return std::nan("");
    return weighted.at(k) / w->second;
  }
  // Max over units; NaN if some unit lacks a finite value (e.g. latency off).
  double Max(const std::string& k) const {
    auto w = weight.find(k);
    if (w == weight.end() || w->second < n) return std::nan("");
    return largest.at(k);
  }
  // Corpus BLEU-4 of every unit's outputs; NaN unless every unit has it.
  double Bleu(const std::string& which) const {
    auto c = bleu_complete.find(which);
    if (c == bleu_complete.end() || !c->second) return std::nan("");
    return bleu.at(which).Score();
  }
};

}  // namespace

QueryResult D2Table(const std::vector<UnitRecord>& units) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, D2Pool> groups;
  std::vector<Key> order;
  for (const auto& u : units) {
    if (u.status != "done" || !u.metrics.count("mean_iloops")) continue;
    Key key{u.plan.model, u.plan.dataset + "/" + u.plan.split, u.plan.attack, u.plan.params_json};
    if (!groups.count(key)) order.push_back(key);
    groups[key].Add(u.metrics);
  }
  QueryResult t;
  t.columns = {"model",       "dataset",     "attack",        "params",       "samples",
               "iloops_mean", "iloops_max",  "ilatency_mean", "ilatency_max", "steps_clean",
               "steps_adv",   "bleu4_clean", "bleu4_adv"};
  for (const Key& key : order) {
    const D2Pool& p = groups[key];
    t.rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                      CompactParams(std::get<3>(key)), FormatCell(p.n),
                      FormatCell(p.Mean("mean_iloops")), FormatCell(p.Max("max_iloops")),
                      FormatCell(p.Mean("mean_ilatency")), FormatCell(p.Max("max_ilatency")),
                      FormatCell(p.Mean("mean_steps_clean")), FormatCell(p.Mean("mean_steps_adv")),
                      FormatCell(p.Bleu("clean")), FormatCell(p.Bleu("adv"))});
  }
  return t;
}

}  // namespace effrobust
