// Which family of dynamic computation each model arch belongs to, without
// torch, so the orchestrator can check experiments before any model loads.
// Two kinds of arch: classifier victims (D1 families, loaded as a
// VictimModel by models/victim_loader.cpp) and autoregressive decoders (D2
// families: captioners and translators, loaded by their own Load* function
// and run by the D2 executor). A test keeps this table and the loaders in
// step. Detectors (D3) are loaded by LoadDetector and run by the D3
// executor. TorchScript victims of every family (models/torchscript_*.h)
// declare their family themselves. Header-only, thread-safe.
#ifndef EFFROBUST_MODELS_FAMILIES_H_
#define EFFROBUST_MODELS_FAMILIES_H_

#include <string>
#include <utility>
#include <vector>

namespace effrobust {

// (arch, family) for every arch effrobust trains and loads.
inline const std::vector<std::pair<std::string, std::string>>& ArchFamilies() {
  static const std::vector<std::pair<std::string, std::string>> archs = {
      {"multi_exit_cnn", "early_exit"},
      {"skip_net", "skip_gate"},
      {"adaptive_vit", "adaptive_token"},
      {"captioner", "captioning"},
      {"translator", "translation"},
      {"detector", "detection"},
  };
  return archs;
}

// The D2 families: decoders whose cost is the number of decoding steps.
inline constexpr char kFamilyCaptioning[] = "captioning";
inline constexpr char kFamilyTranslation[] = "translation";

// True for a D2 (decoder) family, false for a D1 classifier family or "".
inline bool IsDecoderFamily(const std::string& family) {
  return family == kFamilyCaptioning || family == kFamilyTranslation;
}

// The D3 family: a detector feeding a tracker, whose cost grows with the
// boxes it emits. Detectors train on fashion-mnist-scenes and run on the
// frames of fashion-mnist-sequences.
inline constexpr char kFamilyDetection[] = "detection";

// The dataset units of a model with `arch`, trained on `trained_on`, run
// on: the training dataset, except for detectors trained on scenes, whose
// units are the sequences made of the same items.
inline std::string UnitDatasetOf(const std::string& arch, const std::string& trained_on) {
  if (arch == "detector" && trained_on == "fashion-mnist-scenes") return "fashion-mnist-sequences";
  return trained_on;
}

// The families a TorchScript victim (docs/model-contract.md) can declare:
// the D1 classifier families, captioning (D2) and detection (D3).
inline const std::vector<std::string>& TorchScriptFamilyNames() {
  static const std::vector<std::string> families = {"early_exit", "skip_gate", "adaptive_token",
                                                    "captioning", "detection"};
  return families;
}

// The family of `arch`, or "" if effrobust does not know it.
inline std::string FamilyOfArchName(const std::string& arch) {
  for (const auto& [a, family] : ArchFamilies()) {
    if (a == arch) return family;
  }
  return "";
}

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_FAMILIES_H_
