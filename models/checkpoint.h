// Saved models: parameters, buffers and metadata in one file written with
// torch::serialize (the metadata as a JSON string under key "metadata"),
// plus a human-readable "<path>.json" copy of the metadata.
#ifndef EFFROBUST_MODELS_CHECKPOINT_H_
#define EFFROBUST_MODELS_CHECKPOINT_H_

#include <map>
#include <string>
#include <vector>

#include "models/multi_exit_cnn.h"

namespace effrobust {

struct ModelMetadata {
  std::string name;                       // e.g. "sdn-fmnist"
  std::string arch = "multi_exit_cnn";
  std::string dataset = "fashion-mnist";
  MultiExitConfig config;
  std::vector<double> exit_accuracy;      // test accuracy of each exit
  std::vector<double> exit_flops;         // ExitFlops()
  double full_accuracy = 0;               // final-exit test accuracy
  // RAD (0.05, 0.15) -> chosen threshold q (on held-out validation data).
  std::map<std::string, double> thresholds;  // keys "rad5", "rad15"
  std::map<std::string, double> threshold_val_accuracy;  // same keys
  int64_t seed = 0;
  int epochs = 0;
  double train_seconds = 0;
  std::string created_at;
};

// Metadata as JSON text and back. FromJson throws ModelError on missing keys.
std::string MetadataToJson(const ModelMetadata& m);
ModelMetadata MetadataFromJson(const std::string& json);

// Writes the model to `path` (and `path`.json). Throws ModelError on I/O
// failure. Refuses (ModelError) to overwrite an existing file unless
// `overwrite`.
void SaveModel(const std::string& path, MultiExitCnn model,
               const ModelMetadata& meta, bool overwrite = false);

struct LoadedModel {
  MultiExitCnn model{nullptr};
  ModelMetadata meta;
};

// Loads a model saved by SaveModel and puts it in eval mode. Throws
// ModelError naming the file if it is missing or unreadable, if its arch is
// not `expected_arch`, or if its dataset is not `expected_dataset` (empty
// string: not checked).
LoadedModel LoadModel(const std::string& path,
                      const std::string& expected_arch = "multi_exit_cnn",
                      const std::string& expected_dataset = "");

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_CHECKPOINT_H_
