#include "evaluation/d2_table.h"

#include <map>
#include <tuple>

#include "evaluation/metric_pool.h"
#include "evaluation/table_cells.h"

namespace effrobust {
QueryResult D2Table(const std::vector<UnitRecord>& units) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, MetricPool> groups;
  std::vector<Key> order;
  for (const auto& u : units) {
    if (u.status != "done" || !u.metrics.count("mean_iloops")) continue;
    Key key{u.plan.model, u.plan.dataset + "/" + u.plan.split,
            AttackLabel(u.plan.attack, u.plan.spec_json), u.plan.params_json};
    if (!groups.count(key)) order.push_back(key);
    groups[key].Add(u.metrics);
  }
  QueryResult t;
  t.columns = {"model",       "dataset",     "attack",        "params",       "samples",
               "iloops_mean", "iloops_max",  "ilatency_mean", "ilatency_max", "steps_clean",
               "steps_adv",   "bleu4_clean", "bleu4_adv"};
  for (const Key& key : order) {
    const MetricPool& p = groups[key];
    t.rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                      CompactParams(std::get<3>(key)), FormatCell(p.n()),
                      FormatCell(p.Mean("mean_iloops")), FormatCell(p.Max("max_iloops")),
                      FormatCell(p.Mean("mean_ilatency")), FormatCell(p.Max("max_ilatency")),
                      FormatCell(p.Mean("mean_steps_clean")), FormatCell(p.Mean("mean_steps_adv")),
                      FormatCell(p.Bleu("clean")), FormatCell(p.Bleu("adv"))});
  }
  return t;
}

}  // namespace effrobust
