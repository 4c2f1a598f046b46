#include "evaluation/d1_table.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "common/value.h"
#include "evaluation/metric_pool.h"
#include "evaluation/table_cells.h"

namespace effrobust {
namespace {

std::string Fmt(double v) { return FormatCell(v); }

using Pool = MetricPool;

}  // namespace

QueryResult D1Table(const std::vector<UnitRecord>& units) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, Pool> groups;
  std::vector<Key> order;
  for (const auto& u : units) {
    if (u.status != "done" || !u.metrics.count("efficacy_clean_rad5")) continue;
    Key key{u.plan.model, u.plan.dataset + "/" + u.plan.split,
            AttackLabel(u.plan.attack, u.plan.spec_json), u.plan.params_json};
    if (!groups.count(key)) order.push_back(key);
    groups[key].Add(u.metrics);
  }
  QueryResult t;
  t.columns = {"model", "dataset", "attack", "params", "samples", "clean_acc", "adv_acc"};
  for (std::string rad : {"rad5", "rad15"}) {
    t.columns.push_back("eff_clean_" + rad);
    t.columns.push_back("eff_adv_" + rad);
    t.columns.push_back("eff_drop_" + rad);
  }
  for (std::string c : {"flops_ratio_rad5", "flops_ratio_rad15", "latency_ratio_rad5",
                        "latency_ratio_rad15"}) {
    t.columns.push_back(c);
  }
  for (const Key& key : order) {
    const Pool& p = groups[key];
    std::vector<std::string> row = {std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                    CompactParams(std::get<3>(key)), Fmt(p.n()),
                                    Fmt(p.Mean("clean_acc")), Fmt(p.Mean("adv_acc"))};
    for (std::string rad : {"rad5", "rad15"}) {
      const double c = p.Mean("efficacy_clean_" + rad), a = p.Mean("efficacy_adv_" + rad);
      row.push_back(Fmt(c));
      row.push_back(Fmt(a));
      row.push_back(Fmt(c > 0 ? 1.0 - a / c : std::nan("")));
    }
    for (std::string rad : {"rad5", "rad15"}) {
      row.push_back(Fmt(p.Mean("mean_flops_adv_" + rad) / p.Mean("mean_flops_clean_" + rad)));
    }
    for (std::string rad : {"rad5", "rad15"}) {
      row.push_back(
          Fmt(p.Mean("mean_latency_adv_ms_" + rad) / p.Mean("mean_latency_clean_ms_" + rad)));
    }
    t.rows.push_back(row);
  }
  return t;
}

QueryResult D1CostTable(const std::vector<UnitRecord>& units) {
  // (model, dataset, point suffix, attack, params)
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  std::map<Key, Pool> groups;
  std::map<Key, std::string> metric_of;
  std::vector<Key> order;
  const std::string stem = "mean_flops_clean";
  for (const auto& u : units) {
    if (u.status != "done") continue;
    for (const auto& [name, value] : u.metrics) {
      if (name.rfind(stem, 0) != 0) continue;
      const std::string suffix = name.substr(stem.size());
      std::string metric;
      for (std::string m : {"exit", "blocks_run", "token_depth"}) {
        if (u.metrics.count("mean_" + m + "_clean" + suffix)) metric = m;
      }
      if (metric.empty()) continue;
      Key key{u.plan.model, u.plan.dataset + "/" + u.plan.split, suffix,
              AttackLabel(u.plan.attack, u.plan.spec_json), u.plan.params_json};
      if (!groups.count(key)) order.push_back(key);
      metric_of[key] = metric;
      // Pool the point's metrics under suffix-free names.
      std::map<std::string, double> m;
      for (const auto& [k, v] : u.metrics) {
        if (suffix.empty()) {
          m[k] = v;
        } else if (k.size() > suffix.size() &&
                   k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0) {
          m[k.substr(0, k.size() - suffix.size())] = v;
        } else if (k == "samples" || k == "clean_acc" || k == "adv_acc" || k == "full_flops") {
          m[k] = v;
        }
      }
      groups[key].Add(m);
    }
  }
  QueryResult t;
  t.columns = {"model", "dataset", "point", "attack", "params", "samples", "clean_acc",
               "adv_acc", "metric", "metric_clean", "metric_adv", "metric_change",
               "flops_ratio", "recovered_flops", "energy_ratio", "sponge_clean", "sponge_adv",
               "density_clean", "density_adv", "latency_ratio"};
  for (const Key& key : order) {
    const Pool& p = groups[key];
    const std::string& metric = metric_of[key];
    const double mc = p.Mean("mean_" + metric + "_clean"), ma = p.Mean("mean_" + metric + "_adv");
    const double fc = p.Mean("mean_flops_clean"), fa = p.Mean("mean_flops_adv");
    const double full = p.Mean("full_flops");
    const std::string& suffix = std::get<2>(key);
    t.rows.push_back({std::get<0>(key), std::get<1>(key), suffix.empty() ? "-" : suffix.substr(1),
                      std::get<3>(key), CompactParams(std::get<4>(key)), Fmt(p.n()),
                      Fmt(p.Mean("clean_acc")), Fmt(p.Mean("adv_acc")), metric, Fmt(mc), Fmt(ma),
                      Fmt(mc > 0 ? ma / mc - 1.0 : std::nan("")), Fmt(fa / fc),
                      Fmt(full > fc ? (fa - fc) / (full - fc) : std::nan("")),
                      Fmt(p.Mean("mean_energy_adv_pj") / p.Mean("mean_energy_clean_pj")),
                      Fmt(p.Mean("sponge_score_clean")), Fmt(p.Mean("sponge_score_adv")),
                      Fmt(p.Mean("density_clean")), Fmt(p.Mean("density_adv")),
                      Fmt(p.Mean("mean_latency_adv_ms") / p.Mean("mean_latency_clean_ms"))});
  }
  return t;
}

}  // namespace effrobust
