#include "evaluation/d3_table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.h"
#include "common/value.h"
#include "evaluation/d3_summary.h"
#include "evaluation/metric_pool.h"
#include "evaluation/table_cells.h"

namespace effrobust {
namespace {

const std::string kClean = "clean";

// One row's units pooled (evaluation/metric_pool.h), with the parameters
// they were attacked with.
struct D3Pool {
  MetricPool metrics;
  std::set<std::string> params;  // CompactParams of the units

  void Add(const UnitRecord& u) {
    metrics.Add(u.metrics);
    params.insert(CompactParams(u.plan.params_json));
  }
};

double Ratio(double a, double b) { return b == 0 ? std::nan("") : a / b; }

}  // namespace

std::set<int> D3UnitTags(const std::map<std::string, double>& metrics) {
  static const std::string kSuffix = "_frames";
  std::set<int> tags;
  for (const auto& [name, value] : metrics) {
    if (name.size() <= 1 + kSuffix.size() || name[0] != 't' ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      continue;
    }
    const std::string digits = name.substr(1, name.size() - 1 - kSuffix.size());
    if (digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    tags.insert(std::atoi(digits.c_str()));
  }
  return tags;
}

std::optional<int> D3AttackedTag(const std::string& params_json) {
  ParamMap params;
  try {
    params = ParseFlatJson(params_json);
  } catch (const Error&) {
    return std::nullopt;
  }
  auto it = params.find("threshold");
  if (it == params.end()) return std::nullopt;
  double t = std::nan("");
  if (std::holds_alternative<double>(it->second)) {
    t = std::get<double>(it->second);
  } else {
    const std::string& text = std::get<std::string>(it->second);
    char* end = nullptr;
    t = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') return std::nullopt;
  }
  if (!(t >= 0 && t <= 1)) return std::nullopt;
  return static_cast<int>(std::lround(100 * t));
}

QueryResult D3Table(const std::vector<UnitRecord>& units) {
  using ModelKey = std::pair<std::string, std::string>;  // model, dataset/split
  using Setting = std::pair<std::string, std::string>;   // attack, params ("" for benign)
  std::vector<ModelKey> models;
  std::map<ModelKey, std::vector<Setting>> settings;
  std::map<ModelKey, std::set<int>> tags;
  std::map<std::tuple<ModelKey, int, Setting>, D3Pool> pools;
  for (const auto& u : units) {
    if (u.status != "done") continue;
    const std::set<int> unit_tags = D3UnitTags(u.metrics);
    if (unit_tags.empty()) continue;
    const ModelKey mk{u.plan.model, u.plan.dataset + "/" + u.plan.split};
    const bool benign = u.plan.attack == kClean;
    const Setting setting =
        benign ? Setting{kClean, ""}
               : Setting{AttackLabel(u.plan.attack, u.plan.spec_json), u.plan.params_json};
    if (!settings.count(mk)) models.push_back(mk);
    auto& list = settings[mk];
    if (std::find(list.begin(), list.end(), setting) == list.end()) list.push_back(setting);
    const std::optional<int> attacked = D3AttackedTag(u.plan.params_json);
    for (int tag : unit_tags) {
      if (attacked && *attacked != tag) continue;
      tags[mk].insert(tag);
      pools[{mk, tag, setting}].Add(u);
    }
  }
  QueryResult t;
  t.columns = {"model",       "dataset",  "threshold",   "setting",        "params",
               "sequences",   "tracks",   "tracks_max",  "tracks_started", "tracker_ms",
               "total_ms",    "mota",     "mota_pseudo", "ap50",           "ap75",
               "ap50_pseudo", "tracks_x", "total_x"};
  for (const ModelKey& mk : models) {
    auto& list = settings[mk];
    // Benign first, attacks in the order they came in.
    std::stable_partition(list.begin(), list.end(),
                          [](const Setting& s) { return s.first == kClean; });
    for (int tag : tags[mk]) {
      const std::string p = "t" + std::to_string(tag) + "_";
      for (const Setting& setting : list) {
        auto it = pools.find({mk, tag, setting});
        if (it == pools.end()) continue;
        const MetricPool& pool = it->second.metrics;
        const bool benign = setting.first == kClean;
        const std::string w = benign ? "clean" : "adv";
        const double none = std::nan("");
        std::string params;
        for (const std::string& text : it->second.params) {
          params += (params.empty() ? "" : "; ") + text;
        }
        t.rows.push_back({
            mk.first,
            mk.second,
            FormatCell(tag / 100.0),
            benign ? "benign" : setting.first,
            params,
            FormatCell(pool.n()),
            FormatCell(pool.Mean(p + "tracks_" + w)),
            FormatCell(pool.Max(p + "tracks_max_" + w)),
            FormatCell(pool.Mean(p + "tracks_started_" + w)),
            FormatCell(pool.Mean(p + "tracker_ms_" + w)),
            FormatCell(pool.Mean(p + "total_ms_" + w)),
            FormatCell(pool.Mota(p + "gt_" + w)),
            FormatCell(benign ? none : pool.Mota(p + "pseudo_adv")),
            FormatCell(pool.Mean(p + "ap50_gt_" + w)),
            FormatCell(pool.Mean(p + "ap75_gt_" + w)),
            FormatCell(benign ? none : pool.Mean(p + "ap50_pseudo_adv")),
            FormatCell(benign ? none
                              : Ratio(pool.Mean(p + "tracks_adv"), pool.Mean(p + "tracks_clean"))),
            FormatCell(benign
                           ? none
                           : Ratio(pool.Mean(p + "total_ms_adv"), pool.Mean(p + "total_ms_clean"))),
        });
      }
    }
  }
  return t;
}

}  // namespace effrobust
