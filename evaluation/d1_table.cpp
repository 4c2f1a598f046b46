#include "evaluation/d1_table.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "common/value.h"

namespace effrobust {
namespace {

std::string Fmt(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::string CompactParams(const std::string& json) {
  std::string out;
  for (const auto& [k, v] : ParseFlatJson(json)) {
    std::string text = std::holds_alternative<double>(v) ? Fmt(std::get<double>(v)) : std::get<std::string>(v);
    out += (out.empty() ? "" : " ") + k + "=" + text;
  }
  return out.empty() ? "-" : out;
}

struct Pool {
  double n = 0;
  std::map<std::string, double> weighted;  // sum of n * metric (finite only)
  std::map<std::string, double> weight;    // sum of n where metric finite
  void Add(const std::map<std::string, double>& m) {
    auto it = m.find("samples");
    const double s = it == m.end() ? 0 : it->second;
    n += s;
    for (const auto& [k, v] : m) {
      if (!std::isfinite(v)) continue;
      weighted[k] += s * v;
      weight[k] += s;
    }
  }
  double Mean(const std::string& k) const {
    auto w = weight.find(k);
    if (w == weight.end() || w->second <= 0) return std::nan("");
    return weighted.at(k) / w->second;
  }
};

}  // namespace

QueryResult D1Table(const std::vector<UnitRecord>& units) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, Pool> groups;
  std::vector<Key> order;
  for (const auto& u : units) {
    if (u.status != "done") continue;
    Key key{u.plan.model, u.plan.dataset + "/" + u.plan.split, u.plan.attack, u.plan.params_json};
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
                                    CompactParams(std::get<3>(key)), Fmt(p.n),
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

}  // namespace effrobust
