#include "evaluation/defense_views.h"

#include <cmath>

#include "common/error.h"

namespace effrobust {

std::string DefenseViewPrefix(const std::string& defense) {
  return defense == "none" || defense.empty() ? "" : defense + ".";
}

void AppendColumns(const RowBatch& from, const std::string& prefix,
                   const std::set<std::string>& skip, RowBatch* to) {
  if (!to->columns().empty() && from.rows() != to->rows()) {
    throw ResultsError("cannot add columns of " + std::to_string(from.rows()) +
                       " rows to a batch of " + std::to_string(to->rows()) + " rows");
  }
  for (const Column& c : from.columns()) {
    if (skip.count(c.name)) continue;
    const std::string name = prefix + c.name;
    if (to->Has(name)) throw ResultsError("column '" + name + "' is already in the batch");
    if (c.is_int) {
      to->AddInt(name, c.ints);
    } else if (c.is_text) {
      to->AddText(name, c.texts);
    } else {
      to->AddReal(name, c.reals);
    }
  }
}

RowBatch ExtractView(const RowBatch& rows, const std::string& defense,
                     const std::set<std::string>& shared) {
  const std::string prefix = DefenseViewPrefix(defense);
  RowBatch view;
  bool any = false;
  for (const Column& c : rows.columns()) {
    std::string name;
    if (prefix.empty()) {
      if (c.name.find('.') != std::string::npos) continue;
      name = c.name;
    } else if (c.name.rfind(prefix, 0) == 0) {
      name = c.name.substr(prefix.size());
      any = true;
    } else if (shared.count(c.name)) {
      name = c.name;
    } else {
      continue;
    }
    if (c.is_int) {
      view.AddInt(name, c.ints);
    } else if (c.is_text) {
      view.AddText(name, c.texts);
    } else {
      view.AddReal(name, c.reals);
    }
  }
  return prefix.empty() || any ? view : RowBatch();
}

double AddDefenseTiming(const std::vector<double>& clean_ms, const std::vector<double>& adv_ms,
                        RowBatch* view) {
  view->AddReal("defense_clean_ms", clean_ms);
  view->AddReal("defense_adv_ms", adv_ms);
  double sum = 0;
  int64_t n = 0;
  for (const auto* v : {&clean_ms, &adv_ms}) {
    for (double x : *v) {
      if (std::isnan(x)) continue;
      sum += x;
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : std::nan("");
}

void AddViewMetrics(const std::map<std::string, double>& view_metrics, const std::string& defense,
                    std::map<std::string, double>* metrics) {
  const std::string prefix = DefenseViewPrefix(defense);
  for (const auto& [k, v] : view_metrics) (*metrics)[prefix + k] = v;
}

std::map<std::string, double> ViewMetrics(const std::map<std::string, double>& metrics,
                                          const std::string& defense) {
  std::map<std::string, double> out;
  const std::string prefix = DefenseViewPrefix(defense);
  for (const auto& [k, v] : metrics) {
    if (prefix.empty()) {
      if (k.find('.') == std::string::npos) out[k] = v;
    } else if (k.rfind(prefix, 0) == 0) {
      out[k.substr(prefix.size())] = v;
    }
  }
  return out;
}

}  // namespace effrobust
