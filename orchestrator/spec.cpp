#include "orchestrator/spec.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "attacks/catalog.h"
#include "common/error.h"
#include "common/value.h"
#include "data/caption_json.h"
#include "data/cifar10.h"
#include "data/mot_sequence.h"
#include "data/scenes.h"
#include "data/sequences.h"
#include "data/translation_pairs.h"
#include "defenses/catalog.h"
#include "models/families.h"

namespace effrobust {
namespace {

class SpecReader {
 public:
  explicit SpecReader(const std::string& file) : file_(file) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& message) const {
    const int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    throw SpecError(file_ + (line > 0 ? ":" + std::to_string(line) : "") + ": " + message);
  }

  // Rejects a non-mapping, keys that are not plain scalars and keys given
  // twice.
  void CheckUniqueKeys(const YAML::Node& map, const std::string& where) const {
    if (!map.IsMap()) Fail(map, where + " must be a mapping");
    std::map<std::string, int> seen;  // key -> line
    for (const auto& kv : map) {
      const std::string key = Key(kv.first, where);
      const int line = kv.first.Mark().line + 1;
      if (!seen.emplace(key, line).second) {
        Fail(kv.first, "key '" + Printable(key) + "' appears twice in " + where +
                           " (first on line " + std::to_string(seen[key]) +
                           "; allowed: each key once)");
      }
    }
  }

  // CheckUniqueKeys, and rejects keys outside `allowed`.
  void CheckKeys(const YAML::Node& map, const std::string& where,
                 const std::vector<std::string>& allowed) const {
    CheckUniqueKeys(map, where);
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      bool ok = false;
      for (const auto& a : allowed) ok = ok || a == key;
      if (!ok) {
        std::string list;
        for (size_t i = 0; i < allowed.size(); ++i) list += (i ? ", " : "") + allowed[i];
        Fail(kv.first, "unknown key '" + Printable(key) + "' in " + where + " (allowed: " + list + ")");
      }
    }
  }

  // The text of a mapping key; keys must be plain scalars.
  std::string Key(const YAML::Node& key, const std::string& where) const {
    if (!key.IsScalar()) {
      Fail(key, "a key in " + where + " is a list, mapping or null (allowed: plain names)");
    }
    return key.as<std::string>();
  }

  std::string Str(const YAML::Node& parent, const std::string& key, const std::string& where,
                  const std::string* fallback = nullptr) const {
    YAML::Node n = parent[key];
    if (!n) {
      if (fallback) return *fallback;
      Fail(parent, "missing key '" + key + "' in " + where);
    }
    if (!n.IsScalar()) Fail(n, "key '" + key + "' in " + where + " must be a scalar");
    std::string v = n.as<std::string>();
    if (v.empty()) Fail(n, "key '" + key + "' in " + where + " must not be empty");
    return v;
  }

  int64_t Int(const YAML::Node& parent, const std::string& key, const std::string& where,
              int64_t lo, int64_t hi, const int64_t* fallback = nullptr) const {
    YAML::Node n = parent[key];
    if (!n) {
      if (fallback) return *fallback;
      Fail(parent, "missing key '" + key + "' in " + where);
    }
    const std::string allowed =
        " (allowed: whole numbers " + std::to_string(lo) + " to " + std::to_string(hi) + ")";
    const std::string text = n.IsScalar() ? n.as<std::string>() : "";
    const std::string shown = n.IsScalar() ? Printable(text) : n.IsNull() ? "" : "<list or mapping>";
    size_t digits = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
    const bool integral = text.size() > digits &&
                          text.find_first_not_of("0123456789", digits) == std::string::npos;
    if (!integral) {
      Fail(n, "key '" + key + "' in " + where + " = '" + shown + "' is not an integer" + allowed);
    }
    int64_t v = 0;
    try {
      v = std::stoll(text);
    } catch (const std::out_of_range&) {
      Fail(n, "key '" + key + "' in " + where + " = " + shown + " is out of range" + allowed);
    }
    if (v < lo || v > hi) {
      Fail(n, "key '" + key + "' in " + where + " = " + std::to_string(v) +
                  " is out of range (allowed: " + std::to_string(lo) + " to " +
                  std::to_string(hi) + ")");
    }
    return v;
  }

  bool Bool(const YAML::Node& parent, const std::string& key, const std::string& where,
            bool fallback) const {
    YAML::Node n = parent[key];
    if (!n) return fallback;
    std::string t = n.IsScalar() ? n.as<std::string>() : "";
    if (t == "true" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "no" || t == "off") return false;
    Fail(n, "key '" + key + "' in " + where + " = '" + Printable(t) +
                "' is not a boolean (allowed: true, false)");
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

void ParseModels(const SpecReader& r, const YAML::Node& root, ExperimentSpec* spec) {
  YAML::Node models = root["models"];
  if (!models || !models.IsSequence() || models.size() == 0) {
    r.Fail(models ? models : root, "key 'models' must be a non-empty list of {name, path}");
  }
  std::set<std::string> seen;
  for (const auto& m : models) {
    r.CheckKeys(m, "a models entry", {"name", "path", "torchscript", "family", "dataset"});
    ModelSpec ms;
    ms.name = r.Str(m, "name", "a models entry");
    const std::string where = "model '" + ms.name + "'";
    ms.torchscript = static_cast<bool>(m["torchscript"]);
    if (ms.torchscript && m["path"]) {
      r.Fail(m["path"], where + " has both 'path' and 'torchscript' (allowed: one of them: path: "
                        "CHECKPOINT, or torchscript: FILE with family and dataset)");
    }
    if (!ms.torchscript) {
      for (const char* key : {"family", "dataset"}) {
        if (m[key]) {
          r.Fail(m[key], "key '" + std::string(key) + "' in " + where +
                             " applies to TorchScript models only (allowed: torchscript: FILE "
                             "with family and dataset; a checkpoint's path records both)");
        }
      }
      if (!m["path"]) {
        r.Fail(m, "missing key 'path' in " + where +
                      " (allowed: path: CHECKPOINT, or torchscript: FILE with family and dataset)");
      }
      ms.path = r.Str(m, "path", where);
    } else {
      ms.path = r.Str(m, "torchscript", where);
      ms.family = r.Str(m, "family", where);
      std::string allowed;
      bool known = false;
      for (const auto& f : TorchScriptFamilyNames()) {
        allowed += (allowed.empty() ? "" : ", ") + f;
        known = known || f == ms.family;
      }
      if (!known) {
        r.Fail(m["family"], "key 'family' in " + where + " = '" + Printable(ms.family) +
                                "' is not a TorchScript victim family (allowed: " + allowed + ")");
      }
      ms.dataset = r.Str(m, "dataset", where);
    }
    ms.line = m.Mark().line + 1;
    if (!seen.insert(ms.name).second) {
      r.Fail(m, "model name '" + Printable(ms.name) + "' appears twice (allowed: unique names)");
    }
    spec->models.push_back(ms);
  }
}

// The datasets read from a `path` (the others are found through their
// environment variables or Debian packages), and what the path is.
const std::map<std::string, std::string>& PathDatasets() {
  static const std::map<std::string, std::string> datasets = {
      {kCifar10Dataset,
       "path: DIR, the directory holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin"},
      {kCaptionJsonDataset, "path: DIR, the image root the JSON's filepath/filename are under"},
      {kMot17Dataset, "path: ROOT, the folder holding the split folders (train/, test/) of "
                      "sequence folders, as MOT17/"},
  };
  return datasets;
}

// Whether the number of samples of `name`'s splits is known only from its
// files (checked by plan; `range` is then required).
bool SizeFromFiles(const std::string& name) {
  return name == kCaptionJsonDataset || name == kMot17Dataset;
}

// Largest range end accepted where the size comes from the files.
constexpr int64_t kMaxFileSamples = 100000000;

void ParseDatasets(const SpecReader& r, const YAML::Node& root, ExperimentSpec* spec) {
  YAML::Node datasets = root["datasets"];
  if (!datasets || !datasets.IsSequence() || datasets.size() == 0) {
    r.Fail(datasets ? datasets : root,
           "key 'datasets' must be a non-empty list of {name, split, range, shard_size} "
           "(cifar10, captions-json and mot17 also take path; see docs/experiment-format.md)");
  }
  for (const auto& d : datasets) {
    r.CheckKeys(d, "a datasets entry",
                {"name", "path", "json", "split", "range", "shard_size", "max_frames"});
    DatasetSpec ds;
    ds.name = r.Str(d, "name", "a datasets entry");
    const std::string where = "dataset '" + ds.name + "'";
    const bool captions = ds.name == kCaptionJsonDataset;
    const bool mot = ds.name == kMot17Dataset;
    // MOT17's test sequences have no published ground truth.
    const std::string default_split = mot ? "train" : "test";
    ds.split = r.Str(d, "split", where, &default_split);
    int64_t size = 0;
    if (captions) {
      std::string allowed;
      bool known = false;
      for (const std::string& k : KarpathySplits()) {
        allowed += (allowed.empty() ? "" : ", ") + k;
        known = known || k == ds.split;
      }
      if (!known) {
        r.Fail(d["split"], "key 'split' in " + where + " = '" + Printable(ds.split) +
                               "' is not a Karpathy split (allowed: " + allowed + ")");
      }
      size = kMaxFileSamples;
    } else if (mot) {
      if (ds.split == "." || ds.split == ".." || ds.split.find('/') != std::string::npos) {
        r.Fail(d["split"], "key 'split' in " + where + " = '" + Printable(ds.split) +
                               "' is not a folder name (allowed: the name of a folder under path, "
                               "e.g. train)");
      }
      size = kMaxFileSamples;
    } else {
      try {
        size = DatasetSplitSize(ds.name, ds.split);
      } catch (const SpecError& e) {
        r.Fail(d, std::string(e.what()).substr(std::string("[spec] ").size()));
      }
    }
    auto path_kind = PathDatasets().find(ds.name);
    if (path_kind != PathDatasets().end()) {
      if (!d["path"]) {
        r.Fail(d, "missing key 'path' in " + where + " (allowed: " + path_kind->second + ")");
      }
      ds.path = r.Str(d, "path", where);
    } else if (d["path"]) {
      const YAML::Node p = d["path"];
      r.Fail(p, "key 'path' in " + where + " = " +
                    (p.IsScalar() ? "'" + Printable(p.Scalar()) + "'" : "<list or mapping>") +
                    " is not taken by this dataset (allowed: path only for cifar10, captions-json "
                    "and mot17; the other datasets are found through their environment variables "
                    "or Debian packages, see docs/datasets.md)");
    }
    if (captions) {
      if (!d["json"]) {
        r.Fail(d, "missing key 'json' in " + where +
                      " (allowed: json: FILE, a Karpathy-style captions file such as "
                      "dataset_coco.json or dataset_flickr8k.json)");
      }
      ds.json = r.Str(d, "json", where);
    } else if (d["json"]) {
      r.Fail(d["json"], "key 'json' in " + where + " is not taken by this dataset (allowed: json "
                        "only for " + kCaptionJsonDataset + ")");
    }
    if (mot) {
      const int64_t all = 0;
      ds.max_frames = r.Int(d, "max_frames", where, 0, kMaxFileSamples, &all);
    } else if (d["max_frames"]) {
      r.Fail(d["max_frames"], "key 'max_frames' in " + where + " is not taken by this dataset "
                              "(allowed: max_frames only for " + kMot17Dataset + ")");
    }
    if (SizeFromFiles(ds.name) && !d["range"]) {
      r.Fail(d, "missing key 'range' in " + where + " (allowed: range: [begin, end) of the " +
                    (mot ? "split's sequence folders in name order" : "split's images in JSON order") +
                    "; the split's size comes from its files, which `plan` checks)");
    }
    ds.begin = 0;
    ds.end = size;
    YAML::Node range = d["range"];
    if (range) {
      if (!range.IsSequence() || range.size() != 2) {
        r.Fail(range, "key 'range' of dataset '" + ds.name +
                          "' must be [begin, end) as a two-element list, e.g. [0, 1000]");
      }
      YAML::Node pair;
      pair["begin"] = range[0];
      pair["end"] = range[1];
      ds.begin = r.Int(pair, "begin", "range of dataset '" + ds.name + "'", 0, size - 1);
      ds.end = r.Int(pair, "end", "range of dataset '" + ds.name + "'", ds.begin + 1, size);
    }
    const int64_t whole = ds.end - ds.begin;
    ds.shard_size = r.Int(d, "shard_size", "dataset '" + ds.name + "'", 1, size, &whole);
    ds.line = d.Mark().line + 1;
    spec->datasets.push_back(ds);
  }
}

void ParseAttacks(const SpecReader& r, const YAML::Node& root, ExperimentSpec* spec) {
  YAML::Node attacks = root["attacks"];
  if (!attacks || !attacks.IsSequence() || attacks.size() == 0) {
    r.Fail(attacks ? attacks : root, "key 'attacks' must be a non-empty list of {name, params}");
  }
  for (const auto& a : attacks) {
    r.CheckKeys(a, "an attacks entry", {"name", "params"});
    AttackGrid g;
    g.name = r.Str(a, "name", "an attacks entry");
    g.line = a.Mark().line + 1;
    try {
      FindAttack(g.name);
    } catch (const AttackError& e) {
      r.Fail(a["name"], std::string("key 'name' = '") + Printable(g.name) + "': " + e.what());
    }
    YAML::Node params = a["params"];
    if (params) {
      if (!params.IsMap()) {
        r.Fail(params, "key 'params' of attack '" + g.name +
                           "' must be a mapping of parameter: value or [values]");
      }
      r.CheckUniqueKeys(params, "the params of attack '" + g.name + "'");
      std::vector<YAML::Node> key_nodes;  // parallel to g.params, for error lines
      for (const auto& kv : params) {
        const std::string key = kv.first.as<std::string>();
        std::vector<std::string> values;
        if (kv.second.IsSequence()) {
          if (kv.second.size() == 0) {
            r.Fail(kv.second, "parameter '" + key + "' has an empty list (allowed: one or more values)");
          }
          for (const auto& v : kv.second) {
            if (!v.IsScalar()) {
              r.Fail(v, "parameter '" + key + "' values must be scalars, not lists, mappings or null");
            }
            values.push_back(v.as<std::string>());
          }
        } else if (kv.second.IsScalar()) {
          values.push_back(kv.second.as<std::string>());
        } else {
          r.Fail(kv.second, "parameter '" + key + "' must be a scalar or a list of scalars");
        }
        g.params.emplace_back(key, values);
        key_nodes.push_back(kv.first);
      }
      // Validate each value on its own line: the norms first, then every
      // other value with each norm the grid pairs it with.
      std::vector<std::string> norms;
      for (const auto& [key, values] : g.params) {
        if (key == "norm") norms = values;
      }
      for (int pass = 0; pass < 2; ++pass) {
        for (size_t i = 0; i < g.params.size(); ++i) {
          const auto& [key, values] = g.params[i];
          if ((key == "norm") != (pass == 0)) continue;
          for (const auto& v : values) {
            try {
              if (pass == 0 || norms.empty()) {
                CompleteAttackParams(g.name, {{key, v}});
              } else {
                for (const auto& n : norms) CompleteAttackParams(g.name, {{"norm", n}, {key, v}});
              }
            } catch (const AttackError& e) {
              r.Fail(key_nodes[i], std::string("key 'params.") + key + "' = '" + Printable(v) +
                                       "': " + e.what());
            }
          }
        }
      }
    }
    spec->attacks.push_back(g);
  }
}

// Defenses as `- name: none` or the shorthand `- none`; default [none].
void ParseDefenses(const SpecReader& r, const YAML::Node& root, ExperimentSpec* spec) {
  YAML::Node defenses = root["defenses"];
  if (!defenses) {
    spec->defenses = {DefenseSpec{}};
    return;
  }
  std::string names;
  for (const auto& d : DefenseCatalog()) names += (names.empty() ? "" : ", ") + d.name;
  if (!defenses.IsSequence() || defenses.size() == 0) {
    r.Fail(defenses, "key 'defenses' must be a non-empty list of {name, params} (allowed names: " +
                         names + ")");
  }
  std::set<std::string> seen;
  for (const auto& d : defenses) {
    DefenseSpec ds;
    ds.line = d.Mark().line + 1;
    if (!d.IsScalar()) r.CheckKeys(d, "a defenses entry", {"name", "params", "adaptive"});
    ds.name = d.IsScalar() ? d.as<std::string>() : r.Str(d, "name", "a defenses entry");
    // Copy-constructed on purpose: assigning to a YAML::Node rewrites the
    // node it refers to.
    const YAML::Node name_node = d.IsScalar() ? d : d["name"];
    try {
      FindDefense(ds.name);
    } catch (const DefenseError& e) {
      r.Fail(name_node, "key 'defenses' entry '" + Printable(ds.name) + "': " + e.what());
    }
    if (!seen.insert(ds.name).second) {
      r.Fail(name_node, "defense '" + ds.name + "' appears twice (allowed: each defense once)");
    }
    if (d.IsMap() && d["params"]) {
      YAML::Node params = d["params"];
      r.CheckUniqueKeys(params, "the params of defense '" + ds.name + "'");
      for (const auto& kv : params) {
        if (!kv.second.IsScalar()) {
          r.Fail(kv.second, "parameter '" + kv.first.as<std::string>() + "' of defense '" +
                                ds.name + "' must be a scalar");
        }
        ds.params.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
      }
      try {
        CheckDefenseParams(ds.name, ds.params);
      } catch (const DefenseError& e) {
        r.Fail(params, e.what());
      }
    }
    if (d.IsMap()) ds.adaptive = r.Bool(d, "adaptive", "defense '" + ds.name + "'", false);
    if (ds.adaptive && FindDefense(ds.name).kind != DefenseKind::kTransform) {
      std::string transforms;
      for (const auto& info : DefenseCatalog()) {
        if (info.kind == DefenseKind::kTransform) {
          transforms += (transforms.empty() ? "" : ", ") + info.name;
        }
      }
      r.Fail(d["adaptive"], "defense '" + ds.name + "' has adaptive: true, but only input "
                            "transforms can be attacked through (allowed: adaptive on " +
                            transforms + ")");
    }
    spec->defenses.push_back(ds);
  }
}

}  // namespace

int64_t DatasetSplitSize(const std::string& name, const std::string& split) {
  struct Sizes {
    const char* name;
    int64_t train;
    int64_t test;
  };
  static const Sizes kDatasets[] = {
      {"fashion-mnist", 60000, 10000},
      {kScenesDataset, kSceneTrainCount, kSceneTestCount},
      {kSequencesDataset, kSequenceTrainCount, kSequenceTestCount},
      // The train split holds at most this many pairs (what the dictionary
      // yields); a unit past its end fails naming the true size.
      {kTranslationDataset, kTranslationTrainPairs, kTranslationTestPairs},
      {kCifar10Dataset, kCifar10TrainCount, kCifar10TestCount},
  };
  std::string known;
  for (const Sizes& d : kDatasets) {
    known += (known.empty() ? "" : ", ") + std::string(d.name);
    if (name != d.name) continue;
    if (split == "train") return d.train;
    if (split == "test") return d.test;
    throw SpecError("split '" + Printable(split) + "' of dataset '" + name +
                    "' is not known (allowed: train, test)");
  }
  if (SizeFromFiles(name)) {
    throw SpecError("dataset '" + name + "' has no fixed split size (its files decide it)");
  }
  throw SpecError("dataset '" + Printable(name) + "' is not known (allowed: " + known + ", " +
                  kCaptionJsonDataset + ", " + kMot17Dataset + ")");
}

ExperimentSpec ParseSpec(const std::string& text, const std::string& file) {
  SpecReader r(file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 stops at a fixed depth but words it "bad file".
    throw SpecError(file + ":" + std::to_string(e.mark.line + 1) +
                    ": not valid YAML: lists or mappings nested too deeply (about " +
                    std::to_string(e.depth()) + " levels; allowed: the few levels an experiment "
                    "needs, see docs/experiment-format.md)");
  } catch (const YAML::Exception& e) {
    throw SpecError(file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " +
                    Printable(e.msg, 200));
  }
  const std::vector<std::string> top_keys = {"name",     "seed",    "output",  "device",
                                             "threads",  "samples", "models",  "datasets",
                                             "attacks",  "defenses", "measure", "policy"};
  if (!root.IsMap()) {
    std::string list;
    for (const auto& k : top_keys) list += (list.empty() ? "" : ", ") + k;
    throw SpecError(file + ": the top level must be a mapping of keys (allowed keys: " + list + ")");
  }
  r.CheckKeys(root, "the top level", top_keys);
  ExperimentSpec spec;
  spec.file = file;
  spec.text = text;
  spec.name = r.Str(root, "name", "the top level");
  spec.name_line = root["name"].Mark().line + 1;
  const int64_t default_seed = 0;
  spec.seed = r.Int(root, "seed", "the top level", 0, 9007199254740991LL, &default_seed);
  const std::string default_output = "runs/" + spec.name;
  spec.output = r.Str(root, "output", "the top level", &default_output);
  if (root["output"]) spec.output_line = root["output"].Mark().line + 1;
  const std::string default_device = "auto";
  spec.device = r.Str(root, "device", "the top level", &default_device);
  if (spec.device != "auto" && spec.device != "cpu" && spec.device != "cuda") {
    r.Fail(root["device"], "key 'device' = '" + Printable(spec.device) +
                               "' is not allowed (allowed: auto, cpu, cuda)");
  }
  const int64_t default_threads = 0;
  spec.threads = static_cast<int>(r.Int(root, "threads", "the top level", 0, 1024, &default_threads));
  ParseModels(r, root, &spec);
  ParseDatasets(r, root, &spec);
  if (root["samples"]) {
    LimitSamples(&spec, r.Int(root, "samples", "the top level", 1, 1LL << 40), false);
  }
  ParseAttacks(r, root, &spec);
  ParseDefenses(r, root, &spec);
  YAML::Node measure = root["measure"];
  if (measure) {
    r.CheckKeys(measure, "measure",
                {"latency_repeats", "latency_warmup", "store_adversarial", "batch_size"});
    const int64_t d_rep = spec.measure.latency_repeats, d_warm = spec.measure.latency_warmup,
                  d_batch = spec.measure.batch_size;
    spec.measure.latency_repeats = static_cast<int>(r.Int(measure, "latency_repeats", "measure", 0, 1000, &d_rep));
    spec.measure.latency_warmup = static_cast<int>(r.Int(measure, "latency_warmup", "measure", 0, 1000, &d_warm));
    spec.measure.batch_size = r.Int(measure, "batch_size", "measure", 1, 100000, &d_batch);
    spec.measure.store_adversarial =
        r.Bool(measure, "store_adversarial", "measure", spec.measure.store_adversarial);
  }
  YAML::Node policy = root["policy"];
  if (policy) {
    r.CheckKeys(policy, "policy", {"max_retries", "drain_grace_s", "lease_timeout_s", "heartbeat_s"});
    PolicySpec& p = spec.policy;
    const int64_t d_retries = p.max_retries, d_grace = p.drain_grace_s, d_lease = p.lease_timeout_s,
                  d_beat = p.heartbeat_s;
    p.max_retries = static_cast<int>(r.Int(policy, "max_retries", "policy", 0, 100, &d_retries));
    p.drain_grace_s = static_cast<int>(r.Int(policy, "drain_grace_s", "policy", 1, 86400, &d_grace));
    p.lease_timeout_s = static_cast<int>(r.Int(policy, "lease_timeout_s", "policy", 2, 604800, &d_lease));
    p.heartbeat_s = static_cast<int>(r.Int(policy, "heartbeat_s", "policy", 1, 86400, &d_beat));
    if (p.heartbeat_s >= p.lease_timeout_s) {
      r.Fail(policy["heartbeat_s"], "key 'policy.heartbeat_s' = '" + std::to_string(p.heartbeat_s) +
                                        "' must be smaller than policy.lease_timeout_s (" +
                                        std::to_string(p.lease_timeout_s) + ")");
    }
  }
  return spec;
}

ExperimentSpec LoadSpec(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw SpecError("experiment file '" + Printable(path) + "' is a directory (allowed: a YAML file)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SpecError("cannot read experiment file '" + Printable(path) + "': " + std::strerror(errno));
  }
  // Read at most kMaxSpecBytes (+1 to notice more): /dev/zero must not hang.
  std::string text;
  char buf[1 << 16];
  while (text.size() <= kMaxSpecBytes && in.read(buf, sizeof(buf)).gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
  }
  if (text.size() > kMaxSpecBytes) {
    throw SpecError("experiment file '" + Printable(path) + "' is larger than " +
                    std::to_string(kMaxSpecBytes >> 20) + " MiB (allowed: a YAML file up to " +
                    std::to_string(kMaxSpecBytes >> 20) + " MiB)");
  }
  return ParseSpec(text, path);
}

void LimitSamples(ExperimentSpec* spec, int64_t samples, bool rename_output) {
  if (samples < 1) {
    throw SpecError("option --samples must be >= 1, got " + std::to_string(samples));
  }
  for (DatasetSpec& d : spec->datasets) {
    int64_t n = samples;
    if (d.name == kSequencesDataset) {
      const int64_t frames = SequenceOptions().frames;
      n = (samples + frames - 1) / frames;
    }
    d.end = std::min(d.end, d.begin + n);
    d.shard_size = std::min(d.shard_size, d.end - d.begin);
  }
  if (rename_output) spec->output += "-samples" + std::to_string(samples);
}

}  // namespace effrobust
