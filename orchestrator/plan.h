// Expansion of an experiment spec into work units: (model, dataset shard,
// attack + concrete parameters, seed). Each unit's id is a content hash of
// its canonical serialisation, so re-running skips done units and an
// extended grid adds only new ones. Pure functions, thread-safe.
#ifndef EFFROBUST_ORCHESTRATOR_PLAN_H_
#define EFFROBUST_ORCHESTRATOR_PLAN_H_

#include <map>
#include <string>
#include <vector>

#include "common/value.h"
#include "orchestrator/spec.h"
#include "results/index.h"

namespace effrobust {

// A defense a unit measures its inputs through (defenses/catalog.h): the
// catalog name and its completed parameters.
struct UnitDefense {
  std::string name;
  ParamMap params;
  bool operator==(const UnitDefense& o) const { return name == o.name && params == o.params; }
};

struct WorkUnit {
  std::string id;          // 16 hex digits of FNV-1a(canonical)
  std::string canonical;   // canonical JSON the id hashes
  std::string model;
  std::string model_path;
  std::string model_hash;  // content hash of the checkpoint
  std::string dataset;
  // The dataset's directory (cifar10's `path`; "" for the others). Not part
  // of the identity: moving the data does not make units new.
  std::string data_path;
  // captions-json: the Karpathy-style JSON file (the dataset's `json`; the
  // images are under data_path). "" for the others; not part of the identity.
  std::string data_json;
  std::string split;
  int64_t begin = 0;
  int64_t end = 0;
  // mot17: at most this many frames of each sequence (the dataset's
  // `max_frames`); 0: every frame. Part of the identity when not 0.
  int64_t max_frames = 0;
  std::string attack;
  ParamMap params;         // completed with defaults
  int64_t seed = 0;
  // Defenses the unit measures its clean and adversarial inputs through,
  // besides the undefended model (never "none"); empty: none listed or none
  // applies to the model's family. Part of the identity when not empty.
  std::vector<UnitDefense> defenses;
  // "" or the input transform (the only entry of `defenses`) the attack
  // optimises through (BPDA); part of the identity when set.
  std::string adaptive_defense;

  UnitPlan ToPlan() const;
};

// Most units one experiment may expand to; more is refused before expanding
// (a grid that large is almost always a typo, e.g. shard_size: 1).
inline constexpr int64_t kMaxUnits = 100000;

// Expands models x datasets x shards x attacks x parameter grid, in that
// nesting order. Every unit lists the spec's defenses that apply to its
// model's family (a model missing from `model_families` gets every
// defense); after each attack unit other than "clean" comes one unit per
// applicable adaptive defense. A defense that applies to none of the
// models is a SpecError. `model_hashes` maps model name -> checkpoint hash (what
// ModelFileHash returns); a model missing from it gets hash "". Throws
// SpecError on invalid attack parameters, duplicate units, or a grid of more
// than kMaxUnits units. `model_families` maps model name -> family
// (models/families.h); (model, attack) pairs whose attack does not target
// the model's family are left out, and an attack that fits none of the
// models is a SpecError. A model missing from it fits every attack.
// `model_datasets` maps model name -> the dataset it was trained on;
// (model, dataset) pairs that differ are left out (a model missing from it
// runs on every dataset).
std::vector<WorkUnit> ExpandUnits(const ExperimentSpec& spec,
                                  const std::map<std::string, std::string>& model_hashes,
                                  const std::map<std::string, std::string>& model_families = {},
                                  const std::map<std::string, std::string>& model_datasets = {});

// Content hash (16 hex digits) of the file at `path`. Throws SpecError
// naming the file if it cannot be read.
std::string ModelFileHash(const std::string& path);

// A unit as a flat map for messages (and back). FromMap throws
// OrchestratorError on missing fields.
ParamMap UnitToMap(const WorkUnit& u);
WorkUnit UnitFromMap(const ParamMap& m);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_PLAN_H_
