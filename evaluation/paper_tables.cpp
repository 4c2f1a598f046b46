#include "evaluation/paper_tables.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
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
#include "evaluation/d3_table.h"
#include "evaluation/defense_views.h"
#include "evaluation/metric_pool.h"
#include "evaluation/table_cells.h"

namespace effrobust {
namespace {

const std::string kNone = "–";  // a cell with no measured data
const std::string kClean = "clean";
const std::string kDetector = "input_detector";

// A number to 4 significant digits, kNone when undefined.
std::string Num(double v) { return std::isfinite(v) ? FormatCell(v) : kNone; }

// A unit's params_json parsed; empty when it does not parse.
ParamMap Params(const std::string& json) {
  try {
    return ParseFlatJson(json);
  } catch (const Error&) {
    return {};
  }
}

// The text of `key` in `params` (numbers formatted), "" when absent.
std::string ParamText(const ParamMap& params, const std::string& key) {
  auto it = params.find(key);
  if (it == params.end()) return "";
  if (std::holds_alternative<double>(it->second)) return FormatCell(std::get<double>(it->second));
  return std::get<std::string>(it->second);
}

// "k=v ..." of `params` without the keys in `skip`; kNone when nothing is left.
std::string OtherParams(ParamMap params, const std::set<std::string>& skip) {
  for (const std::string& k : skip) params.erase(k);
  const std::string text = CompactParams(CanonicalJson(params));
  return text == "-" ? kNone : text;
}

// What a unit's spec_json says about defenses: each listed defense's
// parameters as "k=v ..." and the adaptive defense ("" when none).
struct UnitDefenses {
  std::map<std::string, std::string> params;
  std::string adaptive;
};

UnitDefenses DefensesOf(const UnitPlan& plan) {
  UnitDefenses d;
  const ParamMap spec = Params(plan.spec_json);
  for (int i = 0;; ++i) {
    const std::string key = "defense." + std::to_string(i);
    const std::string name = ParamText(spec, key);
    if (name.empty()) break;
    ParamMap params;
    for (auto it = spec.lower_bound(key + ".");
         it != spec.end() && it->first.rfind(key + ".", 0) == 0; ++it) {
      params[it->first.substr(key.size() + 1)] = it->second;
    }
    d.params[name] = CompactParams(CanonicalJson(params));
  }
  d.adaptive = ParamText(spec, "adaptive_defense");
  return d;
}

// The defenses whose "<defense>." view a unit's metrics hold.
std::set<std::string> Views(const std::map<std::string, double>& metrics) {
  std::set<std::string> views;
  for (const auto& [name, value] : metrics) {
    const size_t dot = name.find('.');
    if (dot != std::string::npos && dot > 0) views.insert(name.substr(0, dot));
  }
  return views;
}

// One view of a unit's metrics ("" = undefended), carrying the unit's
// samples when the view has none.
std::map<std::string, double> ViewOf(const UnitRecord& u, const std::string& view) {
  if (view.empty()) return u.metrics;
  std::map<std::string, double> m = ViewMetrics(u.metrics, view);
  auto s = u.metrics.find("samples");
  if (!m.empty() && !m.count("samples") && s != u.metrics.end()) m["samples"] = s->second;
  return m;
}

// One row of D1, D2 or D3 before its cells: which units, which view, which
// side of it ("clean" or "adv").
struct Source {
  std::string victim, training, attack, params, norm, setting;
  std::string side;
  bool clean_units = false;  // pooled from clean-attack units (adv == clean)
  std::string view;
  std::vector<const UnitRecord*> units;

  // The view of the units that `keep` accepts, pooled (MetricPool).
  MetricPool Pool(const std::function<bool(const UnitRecord&)>& keep = nullptr) const {
    MetricPool pool;
    for (const UnitRecord* u : units) {
      if (keep && !keep(*u)) continue;
      std::map<std::string, double> m = ViewOf(*u, view);
      if (!m.empty()) pool.Add(m);
    }
    return pool;
  }
};

// A victim's units grouped by (attack, params_json, adaptive defense), in
// the order the groups first come.
struct Group {
  std::string attack, params_json, adaptive;
  std::vector<const UnitRecord*> units;
};

// Display name of a defense that is neither the JPEG nor the smoothing
// choice: "exit_cap" -> "exit cap", "nms_cap" -> "NMS cap".
std::string DefenseLabel(const std::string& name, const std::string& params) {
  std::string label = name == "nms_cap" ? "NMS cap" : name;
  std::replace(label.begin(), label.end(), '_', ' ');
  return params.empty() || params == "-" ? label : label + " (" + params + ")";
}

// The rows of D1, D2 and D3 (see paper_tables.h) for the done units that
// `include` accepts, and the notes naming the JPEG and smoothing defenses.
struct Layout {
  std::vector<Source> rows;
  std::vector<std::string> notes;
};

Layout BuildLayout(const std::vector<UnitRecord>& units,
                   const std::function<bool(const UnitRecord&)>& include,
                   const std::map<std::string, std::string>& adversarial,
                   const std::string& clean_label) {
  std::vector<std::string> victims;
  std::map<std::string, std::vector<Group>> groups;
  std::map<std::string, std::set<std::string>> views;           // victim -> defense views
  std::map<std::string, std::set<std::string>> defense_params;  // defense -> params texts
  for (const UnitRecord& u : units) {
    if (u.status != "done" || !include(u)) continue;
    const UnitDefenses d = DefensesOf(u.plan);
    for (const auto& [name, params] : d.params) defense_params[name].insert(params);
    if (!groups.count(u.plan.model)) victims.push_back(u.plan.model);
    auto& list = groups[u.plan.model];
    auto it = std::find_if(list.begin(), list.end(), [&](const Group& g) {
      return g.attack == u.plan.attack && g.params_json == u.plan.params_json &&
             g.adaptive == d.adaptive;
    });
    if (it == list.end()) {
      it = list.insert(list.end(), Group{u.plan.attack, u.plan.params_json, d.adaptive, {}});
    }
    it->units.push_back(&u);
    for (const std::string& v : Views(u.metrics)) {
      if (v != kDetector) views[u.plan.model].insert(v);
    }
  }
  Layout layout;
  std::set<std::string> jpeg_used, smoothing_used;
  auto params_of = [&](const std::string& defense) {
    std::string text;
    for (const std::string& p : defense_params[defense]) text += (text.empty() ? "" : "; ") + p;
    return text;
  };
  for (const std::string& victim : victims) {
    const std::set<std::string>& vs = views[victim];
    const std::string jpeg = vs.count("block_jpeg") ? "block_jpeg" : vs.count("jpeg") ? "jpeg" : "";
    const std::string smoothing = vs.count("nl_means") ? "nl_means"
                                  : vs.count("median") ? "median"
                                                       : "";
    if (!jpeg.empty()) jpeg_used.insert(jpeg);
    if (!smoothing.empty()) smoothing_used.insert(smoothing);
    // Defended settings in row order: JPEG, smoothing, then the others.
    std::vector<std::pair<std::string, std::string>> defended;  // view, label
    if (!jpeg.empty()) defended.emplace_back(jpeg, "JPEG");
    if (!smoothing.empty()) defended.emplace_back(smoothing, "smoothing");
    for (const std::string& v : vs) {
      if (v != jpeg && v != smoothing) defended.emplace_back(v, DefenseLabel(v, params_of(v)));
    }
    auto label_of = [&](const std::string& view) {
      for (const auto& [v, label] : defended) {
        if (v == view) return label;
      }
      return DefenseLabel(view, params_of(view));
    };
    auto at = adversarial.find(victim);
    const std::string training =
        at == adversarial.end() ? "standard" : "after AT (" + at->second + ")";
    auto row = [&](const std::string& attack, const ParamMap& params, const std::string& setting,
                   const std::string& side, bool clean_units, const std::string& view,
                   const std::vector<const UnitRecord*>& members) {
      Source s;
      s.victim = victim;
      s.training = training;
      s.attack = attack;
      s.params = OtherParams(params, {"norm"});
      const std::string norm = ParamText(params, "norm");
      s.norm = norm.empty() ? kNone : norm;
      s.setting = setting;
      s.side = side;
      s.clean_units = clean_units;
      s.view = view;
      s.units = members;
      layout.rows.push_back(std::move(s));
    };
    const std::vector<Group>& list = groups[victim];
    // The clean row: clean units, else the clean side of the attack units.
    std::vector<const UnitRecord*> clean;
    for (const Group& g : list) {
      if (g.attack == kClean) clean.insert(clean.end(), g.units.begin(), g.units.end());
    }
    const bool clean_units = !clean.empty();
    if (!clean_units) {
      for (const Group& g : list) {
        if (g.adaptive.empty()) clean.insert(clean.end(), g.units.begin(), g.units.end());
      }
    }
    row(kClean, {}, clean_label, "clean", clean_units, "", clean);
    // Attack rows; an attack's adaptive groups follow its plain group.
    std::vector<const Group*> order;
    for (const Group& g : list) {
      if (g.attack == kClean || !g.adaptive.empty()) continue;
      order.push_back(&g);
      for (const Group& a : list) {
        if (!a.adaptive.empty() && a.attack == g.attack && a.params_json == g.params_json) {
          order.push_back(&a);
        }
      }
    }
    for (const Group& a : list) {
      if (!a.adaptive.empty() && std::find(order.begin(), order.end(), &a) == order.end()) {
        order.push_back(&a);
      }
    }
    for (const Group* g : order) {
      const ParamMap params = Params(g->params_json);
      if (!g->adaptive.empty()) {
        row(g->attack, params, "attack + " + label_of(g->adaptive) + " (adaptive, BPDA)", "adv",
            false, g->adaptive, g->units);
        continue;
      }
      row(g->attack, params, "attack", "adv", false, "", g->units);
      for (const auto& [view, label] : defended) {
        row(g->attack, params, "attack + " + label, "adv", false, view, g->units);
      }
    }
    for (const auto& [view, label] : defended) {
      row(kClean, {}, "clean + " + label, "clean", clean_units, view, clean);
    }
  }
  for (const auto& [name, used] : std::vector<std::pair<std::string, std::set<std::string>>>{
           {"JPEG", jpeg_used}, {"smoothing", smoothing_used}}) {
    std::string text;
    for (const std::string& d : used) {
      const std::string p = params_of(d);
      text += (text.empty() ? "" : ", ") + d + (p.empty() || p == "-" ? "" : " (" + p + ")");
    }
    if (!text.empty()) layout.notes.push_back(name + " = " + text + ".");
  }
  return layout;
}

// Adds one row per layout row whose pooled view holds data: victim,
// training, attack, params, norm, setting, samples, then `cells(source,
// pool)`. Rows without data (a defense no unit of the group measured, a
// victim without clean data) are left out.
template <typename Cells>
void AddRows(const Layout& layout, Cells cells, QueryResult* t) {
  for (const Source& s : layout.rows) {
    const MetricPool pool = s.Pool();
    if (pool.empty()) continue;
    std::vector<std::string> row = {s.victim, s.training, s.attack,     s.params,
                                    s.norm,   s.setting,  Num(pool.n())};
    for (std::string& cell : cells(s, pool)) row.push_back(std::move(cell));
    t->rows.push_back(std::move(row));
  }
}

void NoteEmpty(const std::string& what, PaperTable* p) {
  if (p->table.rows.empty()) p->notes.push_back("No unit of this run has " + what + ".");
}

}  // namespace

std::map<std::string, std::string> AdversarialTraining(const std::vector<ModelRecord>& models) {
  std::map<std::string, std::string> out;
  for (const ModelRecord& m : models) {
    try {
      const YAML::Node meta = YAML::Load(m.metadata_json);
      if (!meta.IsMap() || !meta["adversarial"] || !meta["adversarial"].IsScalar()) continue;
      const std::string text = meta["adversarial"].as<std::string>();
      if (!text.empty()) out[m.name] = text;
    } catch (const std::exception&) {
      continue;  // unreadable metadata: a standard model
    }
  }
  return out;
}

PaperTable PaperTable4(const std::vector<UnitRecord>& units) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::vector<Key> order;
  std::map<Key, MetricPool> pools;
  std::map<Key, double> test_sources;  // NaN once a unit lacks it
  std::set<std::string> detector_params;
  for (const UnitRecord& u : units) {
    if (u.status != "done") continue;
    std::map<std::string, double> m = ViewMetrics(u.metrics, kDetector);
    if (m.empty()) continue;
    const UnitDefenses d = DefensesOf(u.plan);
    auto p = d.params.find(kDetector);
    if (p != d.params.end() && p->second != "-") detector_params.insert(p->second);
    const Key key{u.plan.attack, u.plan.model, u.plan.params_json, d.adaptive};
    if (!pools.count(key)) order.push_back(key);
    auto sources = m.find("test_sources");
    const bool counted =
        sources != m.end() && std::isfinite(sources->second) && sources->second > 0;
    auto samples = u.metrics.find("samples");
    m["samples"] = counted ? sources->second : samples == u.metrics.end() ? 0 : samples->second;
    test_sources[key] += counted ? sources->second : std::nan("");
    pools[key].Add(m);
  }
  PaperTable p;
  p.title = "Table 4: input-validation detector (clean inputs passed, adversarial inputs flagged)";
  p.table.columns = {
      "attack",      "victim",         "norm_or_threshold", "params",        "test_sources",
      "clean_plain", "adv_plain",      "mean_plain",        "clean_jpeg",    "adv_jpeg",
      "mean_jpeg",   "clean_smoothed", "adv_smoothed",      "mean_smoothed", "auc",
      "latency_ms"};
  for (const Key& key : order) {
    const MetricPool& pool = pools[key];
    const ParamMap params = Params(std::get<2>(key));
    std::string norm = ParamText(params, "norm");
    if (norm.empty()) norm = ParamText(params, "threshold");
    const std::string& adaptive = std::get<3>(key);
    std::vector<std::string> row = {
        std::get<0>(key) + (adaptive.empty() ? "" : " (adaptive through " + adaptive + ")"),
        std::get<1>(key), norm.empty() ? kNone : norm, OtherParams(params, {"norm", "threshold"}),
        Num(test_sources[key])};
    for (const std::string set : {"plain", "jpeg", "smoothed"}) {
      for (const std::string rate : {"clean_rate_", "detection_rate_", "mean_rate_"}) {
        row.push_back(Num(pool.Mean(rate + set)));
      }
    }
    row.push_back(Num(pool.Mean("auc_plain")));
    row.push_back(Num(pool.Mean("ms_per_input")));
    p.table.rows.push_back(std::move(row));
  }
  NoteEmpty("input_detector metrics", &p);
  if (!p.table.rows.empty()) {
    std::string params;
    for (const std::string& d : detector_params) params += (params.empty() ? "" : "; ") + d;
    p.notes.push_back(
        "Rates are shares of the detector's test inputs (clean: passed; adv: flagged; mean: their "
        "mean) on the plain, JPEG and smoothed test sets; shards pooled weighted by test_sources" +
        (params.empty() ? std::string(".") : "; input_detector " + params + "."));
  }
  return p;
}

PaperTable PaperD1Table(const std::vector<UnitRecord>& units,
                        const std::map<std::string, std::string>& adversarial) {
  const Layout layout = BuildLayout(
      units, [](const UnitRecord& u) { return u.metrics.count("efficacy_clean_rad5") > 0; },
      adversarial, "clean");
  PaperTable p;
  p.title = "D1: early-exit victims, accuracy and efficacy at RAD 5 % / 15 %";
  p.table.columns = {"victim",    "training",      "attack",        "params",
                     "norm",      "setting",       "samples",       "acc_rad5",
                     "acc_rad15", "efficacy_rad5", "efficacy_rad15"};
  AddRows(
      layout,
      [](const Source& s, const MetricPool& pool) {
        std::vector<std::string> cells;
        for (const std::string rad : {"rad5", "rad15"}) {
          cells.push_back(Num(pool.Mean("dyn_" + s.side + "_acc_" + rad)));
        }
        for (const std::string rad : {"rad5", "rad15"}) {
          cells.push_back(Num(pool.Mean("efficacy_" + s.side + "_" + rad)));
        }
        return cells;
      },
      &p.table);
  p.notes = layout.notes;
  NoteEmpty("early-exit metrics (efficacy_clean_rad5)", &p);
  return p;
}

PaperTable PaperD2Table(const std::vector<UnitRecord>& units,
                        const std::map<std::string, std::string>& adversarial) {
  const Layout layout = BuildLayout(
      units, [](const UnitRecord& u) { return u.metrics.count("mean_iloops") > 0; }, adversarial,
      "clean");
  PaperTable p;
  p.title = "D2: captioners, I-Loops, I-Latency and BLEU-4";
  p.table.columns = {"captioner",  "training",      "attack",       "params",
                     "norm",       "setting",       "samples",      "iloops_mean",
                     "iloops_max", "ilatency_mean", "ilatency_max", "bleu4"};
  AddRows(
      layout,
      [](const Source& s, const MetricPool& pool) {
        // I-Loops compare the adversarial side with the clean side: measured on
        // attack rows and on clean units (where both sides are the clean input).
        const bool loops = s.side == "adv" || s.clean_units;
        const double none = std::nan("");
        return std::vector<std::string>{Num(loops ? pool.Mean("mean_iloops") : none),
                                        Num(loops ? pool.Max("max_iloops") : none),
                                        Num(loops ? pool.Mean("mean_ilatency") : none),
                                        Num(loops ? pool.Max("max_ilatency") : none),
                                        Num(pool.Bleu(s.side))};
      },
      &p.table);
  p.notes = layout.notes;
  NoteEmpty("D2 metrics (mean_iloops)", &p);
  return p;
}

PaperTable PaperD3Table(const std::vector<UnitRecord>& units,
                        const std::map<std::string, std::string>& adversarial) {
  const Layout layout = BuildLayout(
      units, [](const UnitRecord& u) { return !D3UnitTags(u.metrics).empty(); }, adversarial,
      "benign");
  PaperTable p;
  p.title = "D3: detection + tracking per confidence threshold, tracks, time, MOTA, mAP";
  p.table.columns = {"detector",  "training", "attack",     "params",   "threshold", "setting",
                     "sequences", "tracks",   "tracker_ms", "total_ms", "mota",      "map50"};
  // Victims in order, and per victim the tags its units measured.
  std::vector<std::string> victims;
  std::map<std::string, std::set<int>> tags;
  for (const Source& s : layout.rows) {
    if (!tags.count(s.victim)) victims.push_back(s.victim);
    for (const UnitRecord* u : s.units) {
      for (int tag : D3UnitTags(ViewOf(*u, s.view))) tags[s.victim].insert(tag);
    }
  }
  for (const std::string& victim : victims) {
    for (int tag : tags[victim]) {
      const std::string t = "t" + std::to_string(tag) + "_";
      for (const Source& s : layout.rows) {
        if (s.victim != victim) continue;
        const MetricPool pool = s.Pool([&](const UnitRecord& u) {
          const std::optional<int> attacked = D3AttackedTag(u.plan.params_json);
          if (attacked && *attacked != tag) return false;
          return ViewOf(u, s.view).count(t + "frames") > 0;
        });
        if (pool.empty()) continue;
        // D3 has no norm column: the norm, if any, stays with the parameters.
        std::string params = s.params;
        if (s.norm != kNone) params = "norm=" + s.norm + (params == kNone ? "" : " " + params);
        std::vector<std::string> row = {
            s.victim,  s.training,   s.attack, params, FormatCell(tag / 100.0),
            s.setting, Num(pool.n())};
        const std::string& w = s.side;
        row.push_back(Num(pool.Mean(t + "tracks_" + w)));
        row.push_back(Num(pool.Mean(t + "tracker_ms_" + w)));
        row.push_back(Num(pool.Mean(t + "total_ms_" + w)));
        row.push_back(Num(pool.Mota(t + "gt_" + w)));
        row.push_back(Num(pool.Mean(t + "ap50_gt_" + w)));
        p.table.rows.push_back(std::move(row));
      }
    }
  }
  p.notes = layout.notes;
  NoteEmpty("D3 metrics (t<threshold>_frames)", &p);
  return p;
}

std::vector<PaperTable> PaperTables(const std::vector<UnitRecord>& units,
                                    const std::vector<ModelRecord>& models) {
  const std::map<std::string, std::string> adversarial = AdversarialTraining(models);
  return {PaperTable4(units), PaperD1Table(units, adversarial), PaperD2Table(units, adversarial),
          PaperD3Table(units, adversarial)};
}

std::string RenderPaperTables(const std::vector<PaperTable>& tables, TableFormat format) {
  const std::string lead = format == TableFormat::kCsv     ? "# "
                           : format == TableFormat::kLatex ? "% "
                                                           : "";
  std::string out;
  for (size_t i = 0; i < tables.size(); ++i) {
    const PaperTable& p = tables[i];
    if (i > 0) out += "\n";
    out += (format == TableFormat::kMarkdown ? "### " : lead) + p.title + "\n";
    if (format == TableFormat::kMarkdown) out += "\n";
    out += RenderTable(p.table, format);
    // Markdown: one paragraph per note.
    for (const std::string& note : p.notes) {
      out += (format == TableFormat::kMarkdown ? "\n" : lead) + note + "\n";
    }
  }
  return out;
}

}  // namespace effrobust
