#include "orchestrator/plan.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "attacks/catalog.h"
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

// The fields that define a unit (and that its id hashes): model and its
// content hash, dataset slice, attack with every parameter, seed.
ParamMap IdentityFields(const WorkUnit& u) {
  ParamMap c;
  c["model"] = u.model;
  c["model_hash"] = u.model_hash;
  c["dataset"] = u.dataset;
  c["split"] = u.split;
  c["sample_begin"] = static_cast<double>(u.begin);
  c["sample_end"] = static_cast<double>(u.end);
  c["attack"] = u.attack;
  c["seed"] = static_cast<double>(u.seed);
  for (const auto& [k, v] : u.params) c[kParamPrefix + k] = v;
  return c;
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
  std::vector<WorkUnit> units;
  std::set<std::string> ids;
  for (const auto& model : spec.models) {
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
            u.canonical = CanonicalJson(IdentityFields(u));
            u.id = Hex16(Fnv1a64(u.canonical));
            if (!ids.insert(u.id).second) {
              throw SpecError(spec.file + ":" + std::to_string(grid.line) + ": attack '" +
                              grid.name + "' lists the same parameters twice (unit " +
                              u.canonical + ")");
            }
            units.push_back(std::move(u));
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
  u.split = RequiredTextField(m, "split");
  u.begin = static_cast<int64_t>(NumberField(m, "sample_begin"));
  u.end = static_cast<int64_t>(NumberField(m, "sample_end"));
  u.attack = RequiredTextField(m, "attack");
  u.seed = static_cast<int64_t>(NumberField(m, "seed"));
  for (const auto& [k, v] : m) {
    if (k.rfind(kParamPrefix, 0) == 0) u.params[k.substr(kParamPrefix.size())] = v;
  }
  return u;
}

}  // namespace effrobust
