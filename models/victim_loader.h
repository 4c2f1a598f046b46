// Loads any saved classifier victim (the D1 families) as a VictimModel,
// dispatching on the arch recorded in its metadata. Decoder archs (the D2
// families of models/families.h: captioner, translator) are not
// VictimModels; LoadCaptioner / LoadTranslator load them.
#ifndef EFFROBUST_MODELS_VICTIM_LOADER_H_
#define EFFROBUST_MODELS_VICTIM_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/victim.h"

namespace effrobust {

struct LoadedVictim {
  std::unique_ptr<VictimModel> victim;
  ModelMetadata meta;
};

// Loads the model at `path` (eval mode, parameters frozen). Throws
// ModelError naming the file if it is missing, unreadable, of an unknown
// arch or a decoder arch, trained on another dataset than `dataset` (empty:
// not checked), or lacks what its family needs (e.g. early-exit thresholds).
// A TorchScript victim file (models/torchscript_victim.h) is loaded with
// LoadTorchScriptVictim, its contract checked.
LoadedVictim LoadVictim(const std::string& path, const std::string& dataset = "");

// Arch names LoadVictim knows (classifier victims only), and the family of
// such an arch ("" if unknown or a decoder arch).
std::vector<std::string> KnownArchs();
std::string FamilyOfArch(const std::string& arch);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_VICTIM_LOADER_H_
