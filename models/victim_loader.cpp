#include "models/victim_loader.h"

#include <functional>
#include <map>

#include "common/error.h"
#include "evaluation/d1_summary.h"
#include "models/families.h"
#include "models/adaptive_vit_victim.h"
#include "models/multi_exit_victim.h"
#include "models/skip_net_victim.h"
#include "models/torchscript_victim.h"

namespace effrobust {
namespace {

using Factory = std::function<std::unique_ptr<VictimModel>(const ModelFile&)>;

std::unique_ptr<VictimModel> LoadMultiExit(const ModelFile& file) {
  for (const auto& [rad, unused] : RadLevels()) {
    if (!file.meta.thresholds.count(rad)) {
      throw ModelError("model file '" + file.path + "' has no threshold '" + rad +
                       "' in its metadata");
    }
  }
  const size_t exits = file.meta.config.channels.size();
  if (file.meta.exit_flops.size() != exits || exits == 0) {
    throw ModelError("model file '" + file.path + "' lists " +
                     std::to_string(file.meta.exit_flops.size()) + " exit FLOPs figures for " +
                     std::to_string(exits) + " exits");
  }
  MultiExitCnn model{nullptr};
  try {
    model = MultiExitCnn(file.meta.config);
  } catch (const ModelError& e) {
    throw ModelError("model file '" + file.path + "': " + e.what());
  }
  LoadParameters(file, *model);
  return std::make_unique<MultiExitVictim>(model, file.meta.thresholds);
}

std::unique_ptr<VictimModel> LoadSkipNet(const ModelFile& file) {
  SkipNet model{nullptr};
  try {
    model = SkipNet(SkipNetConfig::FromArchConfig(file.meta.config.in_channels,
                                                  file.meta.config.image_size,
                                                  file.meta.config.num_classes,
                                                  file.meta.arch_config));
  } catch (const ModelError& e) {
    throw ModelError("model file '" + file.path + "': " + e.what());
  }
  LoadParameters(file, *model);
  return std::make_unique<SkipNetVictim>(model);
}

std::unique_ptr<VictimModel> LoadAdaptiveVit(const ModelFile& file) {
  AdaptiveVit model{nullptr};
  try {
    model = AdaptiveVit(AdaptiveVitConfig::FromArchConfig(
        file.meta.config.in_channels, file.meta.config.image_size, file.meta.config.num_classes,
        file.meta.arch_config));
  } catch (const ModelError& e) {
    throw ModelError("model file '" + file.path + "': " + e.what());
  }
  LoadParameters(file, *model);
  return std::make_unique<AdaptiveVitVictim>(model);
}

struct ArchEntry {
  std::string family;
  Factory load;
};

const std::map<std::string, ArchEntry>& Archs() {
  static const std::map<std::string, ArchEntry> archs = {
      {"adaptive_vit", {kFamilyAdaptiveToken, LoadAdaptiveVit}},
      {"multi_exit_cnn", {kFamilyEarlyExit, LoadMultiExit}},
      {"skip_net", {kFamilySkipGate, LoadSkipNet}},
  };
  return archs;
}

}  // namespace

LoadedVictim LoadVictim(const std::string& path, const std::string& dataset) {
  if (IsTorchScriptVictimFile(path)) return LoadTorchScriptVictim(path, "", dataset);
  ModelFile file = ReadModelFile(path, dataset);
  auto it = Archs().find(file.meta.arch);
  const std::string family = FamilyOfArchName(file.meta.arch);
  if (it == Archs().end() && IsDecoderFamily(family)) {
    throw ModelError("model file '" + path + "' has arch '" + file.meta.arch + "', a " + family +
                     " decoder, not a classifier victim (load it with Load" +
                     (family == kFamilyCaptioning ? "Captioner" : "Translator") + ")");
  }
  if (it == Archs().end()) {
    std::string known;
    for (const auto& a : KnownArchs()) known += (known.empty() ? "" : ", ") + a;
    throw ModelError("model file '" + path + "' has arch '" + file.meta.arch +
                     "', which effrobust cannot load (known: " + known + ")");
  }
  LoadedVictim loaded;
  loaded.victim = it->second.load(file);
  loaded.meta = file.meta;
  loaded.victim->module().eval();
  for (auto& p : loaded.victim->module().parameters()) p.set_requires_grad(false);
  return loaded;
}

std::vector<std::string> KnownArchs() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : Archs()) names.push_back(name);
  return names;
}

std::string FamilyOfArch(const std::string& arch) {
  auto it = Archs().find(arch);
  return it == Archs().end() ? "" : it->second.family;
}

}  // namespace effrobust
