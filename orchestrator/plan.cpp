#include "orchestrator/plan.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "attacks/catalog.h"
#include "defenses/catalog.h"
#include "common/error.h"
#include "common/hash.h"

namespace effrobust {
namespace {

// Cartesian product of the grid, in parameter order.
void Product(const std::vector<std::pair<std::string, std::vector<std::string>>>& grid,
             size_t i, std::vector<std::pair<std::string, std::string>>* current,
             std::vector<std::vector<std::pair<std::string, std::string>>>* out) {
  if (i == grid.size()) {
    out->push_back(*current);
    return;
  }
  for (const auto& v : grid[i].second) {
    current->emplace_back(grid[i].first, v);
    Product(grid, i + 1, current, out);
    current->pop_back();
  }
}

const std::string kParamPrefix = "p.";
const std::string kDefensePrefix = "defense.";
const std::string kAdaptiveField = "adaptive_defense";

// The fields that define a unit (and that its id hashes): model and its
// content hash, dataset slice, attack with every parameter, seed. Paths
// (the model's file, a dataset's directory) are not among them.
ParamMap IdentityFields(const WorkUnit& u) {
  ParamMap c;
  c["model"] = u.model;
  c["model_hash"] = u.model_hash;
  c["dataset"] = u.dataset;
  c["split"] = u.split;
  c["sample_begin"] = static_cast<double>(u.begin);
  c["sample_end"] = static_cast<double>(u.end);
  // Absent when 0, so units planned before max_frames existed keep their ids.
  if (u.max_frames != 0) c["max_frames"] = static_cast<double>(u.max_frames);
  c["attack"] = u.attack;
  c["seed"] = static_cast<double>(u.seed);
  for (const auto& [k, v] : u.params) c[kParamPrefix + k] = v;
  // Absent when empty, so units planned before defenses existed keep their ids.
  for (size_t i = 0; i < u.defenses.size(); ++i) {
    const std::string key = kDefensePrefix + std::to_string(i);
    c[key] = u.defenses[i].name;
    for (const auto& [k, v] : u.defenses[i].params) c[key + "." + k] = v;
  }
  if (!u.adaptive_defense.empty()) c[kAdaptiveField] = u.adaptive_defense;
  return c;
}

// The spec's defenses (not "none") that apply to a model of `family` ("":
// unknown, every defense), with completed parameters.
std::vector<UnitDefense> DefensesFor(const ExperimentSpec& spec, const std::string& family) {
  std::vector<UnitDefense> out;
  for (const DefenseSpec& d : spec.defenses) {
    if (d.name == kDefaultDefense) continue;
    if (!family.empty() && !DefenseAppliesTo(d.name, family)) continue;
    try {
      out.push_back({d.name, CompleteDefenseParams(d.name, d.params)});
    } catch (const DefenseError& e) {
      throw SpecError(spec.file + ":" + std::to_string(d.line) + ": " + e.what());
    }
  }
  return out;
}

bool IsAdaptive(const ExperimentSpec& spec, const std::string& defense) {
  for (const DefenseSpec& d : spec.defenses) {
    if (d.name == defense) return d.adaptive;
  }
  return false;
}

// Throws SpecError if the spec expands to more than kMaxUnits units; counts
// in floating point so that absurd grids cannot overflow.
void CheckUnitCount(const ExperimentSpec& spec) {
  double shards = 0, settings = 0;
  for (const auto& ds : spec.datasets) {
    shards += std::ceil(static_cast<double>(ds.end - ds.begin) / static_cast<double>(ds.shard_size));
  }
  for (const auto& grid : spec.attacks) {
    double combos = 1;
    for (const auto& [key, values] : grid.params) combos *= static_cast<double>(values.size());
    settings += combos;
  }
  const double units = static_cast<double>(spec.models.size()) * shards * settings;
  if (units <= static_cast<double>(kMaxUnits)) return;
  char count[64];
  std::snprintf(count, sizeof(count), "%.0f", units);
  throw SpecError(spec.file + ": the experiment expands to " + count + " units (" +
                  std::to_string(spec.models.size()) + " model(s) x " + FormatNumber(shards) +
                  " dataset shard(s) x " + FormatNumber(settings) +
                  " attack setting(s)) (allowed: at most " + std::to_string(kMaxUnits) +
                  "); raise shard_size, list fewer parameter values, or split the experiment");
}

}  // namespace

UnitPlan WorkUnit::ToPlan() const {
  UnitPlan p;
  p.unit_id = id;
  p.model = model;
  p.dataset = dataset;
  p.split = split;
  p.sample_begin = begin;
  p.sample_end = end;
  p.attack = attack;
  p.params_json = CanonicalJson(params);
  p.seed = seed;
  p.spec_json = canonical;
  p.model_path = model_path;
  return p;
}

std::vector<WorkUnit> ExpandUnits(const ExperimentSpec& spec,
                                  const std::map<std::string, std::string>& model_hashes,
                                  const std::map<std::string, std::string>& model_families,
                                  const std::map<std::string, std::string>& model_datasets) {
  CheckUnitCount(spec);
  auto fits = [&](const ModelSpec& model, const AttackGrid& grid) {
    auto f = model_families.find(model.name);
    return f == model_families.end() || AttackTargetsFamily(grid.name, f->second);
  };
  for (const auto& grid : spec.attacks) {
    bool any = false;
    std::string models;
    for (const auto& model : spec.models) {
      any = any || fits(model, grid);
      auto f = model_families.find(model.name);
      models += (models.empty() ? "" : ", ") + model.name + " (" +
                (f == model_families.end() ? std::string("?") : f->second) + ")";
    }
    if (!any) {
      std::string targets;
      for (const auto& t : FindAttack(grid.name).families) targets += (targets.empty() ? "" : ", ") + t;
      throw SpecError(spec.file + ":" + std::to_string(grid.line) + ": attack '" + grid.name +
                      "' targets " + targets + " models, and no model of the experiment is one "
                      "(models: " + models + ")");
    }
  }
  auto family_of = [&](const ModelSpec& model) {
    auto f = model_families.find(model.name);
    return f == model_families.end() ? std::string() : f->second;
  };
  for (const DefenseSpec& d : spec.defenses) {
    if (d.name == kDefaultDefense) continue;
    bool any = false;
    std::string models;
    for (const auto& model : spec.models) {
      const std::string family = family_of(model);
      any = any || family.empty() || DefenseAppliesTo(d.name, family);
      models += (models.empty() ? "" : ", ") + model.name + " (" +
                (family.empty() ? std::string("?") : family) + ")";
    }
    if (!any) {
      throw SpecError(spec.file + ":" + std::to_string(d.line) + ": defense '" + d.name +
                      "' applies to " + DefenseFamiliesText(d.name) +
                      " models, and no model of the experiment is one (models: " + models + ")");
    }
  }
  std::vector<WorkUnit> units;
  std::set<std::string> ids;
  auto add = [&](WorkUnit u, const AttackGrid& grid) {
    u.canonical = CanonicalJson(IdentityFields(u));
    u.id = Hex16(Fnv1a64(u.canonical));
    if (!ids.insert(u.id).second) {
      throw SpecError(spec.file + ":" + std::to_string(grid.line) + ": attack '" + grid.name +
                      "' lists the same parameters twice (unit " + u.canonical + ")");
    }
    units.push_back(std::move(u));
  };
  for (const auto& model : spec.models) {
    const std::vector<UnitDefense> defenses = DefensesFor(spec, family_of(model));
    auto h = model_hashes.find(model.name);
    const std::string model_hash = h == model_hashes.end() ? "" : h->second;
    auto trained_on = model_datasets.find(model.name);
    for (const auto& ds : spec.datasets) {
      if (trained_on != model_datasets.end() && trained_on->second != ds.name) continue;
      for (int64_t begin = ds.begin; begin < ds.end; begin += ds.shard_size) {
        const int64_t end = std::min(ds.end, begin + ds.shard_size);
        for (const auto& grid : spec.attacks) {
          if (!fits(model, grid)) continue;
          std::vector<std::vector<std::pair<std::string, std::string>>> combos;
          std::vector<std::pair<std::string, std::string>> current;
          Product(grid.params, 0, &current, &combos);
          for (const auto& combo : combos) {
            WorkUnit u;
            u.model = model.name;
            u.model_path = model.path;
            u.model_hash = model_hash;
            u.dataset = ds.name;
            u.data_path = ds.path;
            u.data_json = ds.json;
            u.max_frames = ds.max_frames;
            u.split = ds.split;
            u.begin = begin;
            u.end = end;
            u.attack = grid.name;
            try {
              u.params = CompleteAttackParams(grid.name, combo);
            } catch (const AttackError& e) {
              throw SpecError(spec.file + ":" + std::to_string(grid.line) + ": " + e.what());
            }
            u.seed = spec.seed;
            u.defenses = defenses;
            add(u, grid);
            if (grid.name == "clean") continue;
            for (const UnitDefense& d : defenses) {
              if (!IsAdaptive(spec, d.name)) continue;
              WorkUnit a = u;
              a.defenses = {d};
              a.adaptive_defense = d.name;
              add(a, grid);
            }
          }
        }
      }
    }
  }
  return units;
}

std::string ModelFileHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SpecError("model file '" + path +
                    "' cannot be read (train it first: effrobust train --out " + path + ")");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Hex16(Fnv1a64(ss.str()));
}

ParamMap UnitToMap(const WorkUnit& u) {
  ParamMap m = IdentityFields(u);
  m["id"] = u.id;
  m["canonical"] = u.canonical;
  m["model_path"] = u.model_path;
  if (!u.data_path.empty()) m["data_path"] = u.data_path;
  if (!u.data_json.empty()) m["data_json"] = u.data_json;
  return m;
}

WorkUnit UnitFromMap(const ParamMap& m) {
  WorkUnit u;
  u.id = RequiredTextField(m, "id");
  u.canonical = RequiredTextField(m, "canonical");
  u.model = RequiredTextField(m, "model");
  u.model_path = RequiredTextField(m, "model_path");
  u.model_hash = RequiredTextField(m, "model_hash");
  u.dataset = RequiredTextField(m, "dataset");
  u.data_path = TextField(m, "data_path");
  u.data_json = TextField(m, "data_json");
  if (m.count("max_frames")) u.max_frames = static_cast<int64_t>(NumberField(m, "max_frames"));
  u.split = RequiredTextField(m, "split");
  u.begin = static_cast<int64_t>(NumberField(m, "sample_begin"));
  u.end = static_cast<int64_t>(NumberField(m, "sample_end"));
  u.attack = RequiredTextField(m, "attack");
  u.seed = static_cast<int64_t>(NumberField(m, "seed"));
  for (const auto& [k, v] : m) {
    if (k.rfind(kParamPrefix, 0) == 0) u.params[k.substr(kParamPrefix.size())] = v;
  }
  for (size_t i = 0;; ++i) {
    const std::string key = kDefensePrefix + std::to_string(i);
    if (!m.count(key)) break;
    UnitDefense d;
    d.name = RequiredTextField(m, key);
    for (auto it = m.lower_bound(key + "."); it != m.end() && it->first.rfind(key + ".", 0) == 0;
         ++it) {
      d.params[it->first.substr(key.size() + 1)] = it->second;
    }
    u.defenses.push_back(std::move(d));
  }
  u.adaptive_defense = TextField(m, kAdaptiveField);
  return u;
}

}  // namespace effrobust
