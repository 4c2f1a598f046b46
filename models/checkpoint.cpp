#include "models/checkpoint.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/value.h"

namespace effrobust {

namespace {

namespace fs = std::filesystem;

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  return FormatNumber(v);
}

std::string NumList(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + Num(v[i]);
  return s + "]";
}

std::string IntList(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string NumMap(const std::map<std::string, double>& m) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : m) {
    s += (first ? "" : ", ") + JsonQuote(k) + ": " + Num(v);
    first = false;
  }
  return s + "}";
}

YAML::Node Need(const YAML::Node& parent, const std::string& key, const std::string& where) {
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) {
    throw ModelError("model metadata is missing key '" + where + key + "'");
  }
  return n;
}

template <typename T>
T As(const YAML::Node& parent, const std::string& key, const std::string& where = "") {
  YAML::Node n = Need(parent, key, where);
  try {
    return n.as<T>();
  } catch (const YAML::Exception& e) {
    throw ModelError("model metadata key '" + where + key + "' has a bad value: " + e.what());
  }
}

double AsNumber(const YAML::Node& n, const std::string& key) {
  if (n.IsNull()) return std::nan("");
  try {
    return n.as<double>();
  } catch (const YAML::Exception& e) {
    throw ModelError("model metadata key '" + key + "' has a non-number entry: " + e.what());
  }
}

std::vector<double> AsNumList(const YAML::Node& parent, const std::string& key) {
  YAML::Node n = Need(parent, key, "");
  if (!n.IsSequence()) throw ModelError("model metadata key '" + key + "' is not a list");
  std::vector<double> v;
  for (const auto& e : n) v.push_back(AsNumber(e, key));
  return v;
}

std::map<std::string, double> AsNumMap(const YAML::Node& parent, const std::string& key) {
  YAML::Node n = Need(parent, key, "");
  if (!n.IsMap()) throw ModelError("model metadata key '" + key + "' is not an object");
  std::map<std::string, double> m;
  for (const auto& kv : n) m[kv.first.as<std::string>()] = AsNumber(kv.second, key);
  return m;
}

// "[models] msg" -> "msg", to avoid a doubled prefix when re-throwing.
std::string StripLayer(const std::string& what) {
  const std::string prefix = "[models] ";
  return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}

}  // namespace

std::string MetadataToJson(const ModelMetadata& m) {
  std::ostringstream o;
  o << "{\n";
  o << "  \"name\": " << JsonQuote(m.name) << ",\n";
  o << "  \"arch\": " << JsonQuote(m.arch) << ",\n";
  o << "  \"dataset\": " << JsonQuote(m.dataset) << ",\n";
  o << "  \"config\": {\"in_channels\": " << m.config.in_channels
    << ", \"image_size\": " << m.config.image_size
    << ", \"num_classes\": " << m.config.num_classes
    << ", \"channels\": " << IntList(m.config.channels);
  for (const auto& [k, v] : m.arch_config) {
    if (k == "in_channels" || k == "image_size" || k == "num_classes" || k == "channels") {
      throw ModelError("arch_config key '" + k + "' of model '" + m.name +
                       "' would shadow the config field of that name (use another key)");
    }
    o << ", " << JsonQuote(k) << ": " << Num(v);
  }
  o << "},\n";
  if (!m.stats.empty()) o << "  \"stats\": " << NumMap(m.stats) << ",\n";
  if (!m.vocabulary.empty()) {
    o << "  \"vocabulary\": [";
    for (size_t i = 0; i < m.vocabulary.size(); ++i) {
      o << (i ? ", " : "") << JsonQuote(m.vocabulary[i]);
    }
    o << "],\n";
  }
  if (!m.adversarial.empty()) o << "  \"adversarial\": " << JsonQuote(m.adversarial) << ",\n";
  o << "  \"exit_accuracy\": " << NumList(m.exit_accuracy) << ",\n";
  o << "  \"exit_flops\": " << NumList(m.exit_flops) << ",\n";
  o << "  \"full_accuracy\": " << Num(m.full_accuracy) << ",\n";
  o << "  \"thresholds\": " << NumMap(m.thresholds) << ",\n";
  o << "  \"threshold_val_accuracy\": " << NumMap(m.threshold_val_accuracy) << ",\n";
  o << "  \"seed\": " << m.seed << ",\n";
  o << "  \"epochs\": " << m.epochs << ",\n";
  o << "  \"train_seconds\": " << Num(m.train_seconds) << ",\n";
  o << "  \"created_at\": " << JsonQuote(m.created_at) << "\n";
  o << "}\n";
  return o.str();
}

ModelMetadata MetadataFromJson(const std::string& json) {
  YAML::Node root;
  try {
    root = YAML::Load(json);
  } catch (const YAML::Exception& e) {
    throw ModelError(std::string("model metadata is not valid JSON: ") + e.what());
  }
  if (!root.IsMap()) throw ModelError("model metadata is not a JSON object");
  ModelMetadata m;
  m.name = As<std::string>(root, "name");
  m.arch = As<std::string>(root, "arch");
  m.dataset = As<std::string>(root, "dataset");
  YAML::Node cfg = Need(root, "config", "");
  if (!cfg.IsMap()) throw ModelError("model metadata key 'config' is not an object");
  m.config.in_channels = As<int64_t>(cfg, "in_channels", "config.");
  m.config.image_size = As<int64_t>(cfg, "image_size", "config.");
  m.config.num_classes = As<int64_t>(cfg, "num_classes", "config.");
  m.config.channels = As<std::vector<int64_t>>(cfg, "channels", "config.");
  for (const auto& kv : cfg) {
    const std::string key = kv.first.as<std::string>();
    if (key == "in_channels" || key == "image_size" || key == "num_classes" || key == "channels") {
      continue;
    }
    m.arch_config[key] = AsNumber(kv.second, "config." + key);
  }
  if (root["stats"].IsDefined() && !root["stats"].IsNull()) m.stats = AsNumMap(root, "stats");
  if (root["vocabulary"].IsDefined() && !root["vocabulary"].IsNull()) {
    m.vocabulary = As<std::vector<std::string>>(root, "vocabulary");
  }
  if (root["adversarial"].IsDefined() && !root["adversarial"].IsNull()) {
    m.adversarial = As<std::string>(root, "adversarial");
  }
  m.exit_accuracy = AsNumList(root, "exit_accuracy");
  m.exit_flops = AsNumList(root, "exit_flops");
  m.full_accuracy = As<double>(root, "full_accuracy");
  m.thresholds = AsNumMap(root, "thresholds");
  m.threshold_val_accuracy = AsNumMap(root, "threshold_val_accuracy");
  m.seed = As<int64_t>(root, "seed");
  m.epochs = As<int>(root, "epochs");
  m.train_seconds = As<double>(root, "train_seconds");
  m.created_at = As<std::string>(root, "created_at");
  return m;
}

void SaveModel(const std::string& path, MultiExitCnn model, const ModelMetadata& meta,
               bool overwrite) {
  if (!model) throw ModelError("cannot save '" + path + "': model is empty");
  SaveModel(path, *model, meta, overwrite);
}

void SaveModel(const std::string& path, const torch::nn::Module& module,
               const ModelMetadata& meta, bool overwrite) {
  std::error_code ec;
  if (!overwrite && fs::exists(path, ec)) {
    throw ModelError("refusing to overwrite existing model file '" + path +
                     "' (pass overwrite to replace it)");
  }
  const std::string json = MetadataToJson(meta);
  // Write to a temporary name, then rename, so a crash never leaves a
  // half-written model under the final name.
  const std::string tmp = path + ".tmp";
  try {
    torch::serialize::OutputArchive archive;
    module.save(archive);
    archive.write("metadata", c10::IValue(json));
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    fs::remove(tmp, ec);
    throw ModelError("cannot write model file '" + path + "': " + e.what_without_backtrace());
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw ModelError("cannot write model file '" + path + "': rename failed: " + ec.message());
  }
  const std::string json_path = path + ".json";
  std::ofstream out(json_path, std::ios::trunc);
  out << json;
  out.close();
  if (!out) throw ModelError("cannot write model metadata file '" + json_path + "'");
}

ModelFile ReadModelFile(const std::string& path, const std::string& expected_dataset) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw ModelError("model file '" + path + "' is missing or not a regular file");
  }
  ModelFile file;
  file.path = path;
  file.archive = std::make_shared<torch::serialize::InputArchive>();
  std::string json;
  try {
    file.archive->load_from(path);
    c10::IValue v;
    if (!file.archive->try_read("metadata", v) || !v.isString()) {
      throw ModelError("model file '" + path + "' has no metadata (not written by SaveModel?)");
    }
    json = v.toStringRef();
  } catch (const c10::Error& e) {
    throw ModelError("cannot read model file '" + path + "': " + e.what_without_backtrace());
  }
  try {
    file.meta = MetadataFromJson(json);
  } catch (const ModelError& e) {
    throw ModelError("model file '" + path + "': " + StripLayer(e.what()));
  }
  if (!expected_dataset.empty() && file.meta.dataset != expected_dataset) {
    throw ModelError("model file '" + path + "' was trained on dataset '" + file.meta.dataset +
                     "', expected dataset '" + expected_dataset + "'");
  }
  return file;
}

void LoadParameters(const ModelFile& file, torch::nn::Module& module) {
  try {
    module.load(*file.archive);
  } catch (const c10::Error& e) {
    throw ModelError("cannot load parameters from model file '" + file.path +
                     "': " + e.what_without_backtrace());
  }
  module.eval();
}

LoadedModel LoadModel(const std::string& path, const std::string& expected_arch,
                      const std::string& expected_dataset) {
  ModelFile file = ReadModelFile(path, expected_dataset);
  if (!expected_arch.empty() && file.meta.arch != expected_arch) {
    throw ModelError("model file '" + path + "' has arch '" + file.meta.arch + "', expected '" +
                     expected_arch + "'");
  }
  LoadedModel loaded;
  loaded.meta = file.meta;
  try {
    loaded.model = MultiExitCnn(loaded.meta.config);
  } catch (const ModelError& e) {
    throw ModelError("model file '" + path + "': " + StripLayer(e.what()));
  }
  LoadParameters(file, *loaded.model);
  return loaded;
}

}  // namespace effrobust
