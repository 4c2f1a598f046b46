// Saved models: parameters, buffers and metadata in one file written with
// torch::serialize (the metadata as a JSON string under key "metadata"),
// plus a human-readable "<path>.json" copy of the metadata.
#ifndef EFFROBUST_MODELS_CHECKPOINT_H_
#define EFFROBUST_MODELS_CHECKPOINT_H_

#include <map>
#include <memory>
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
  // Architectures other than multi_exit_cnn: their numeric configuration
  // (written into the "config" object beside in_channels/image_size/
  // num_classes; `config.channels` is then empty).
  std::map<std::string, double> arch_config;
  // Achieved numbers from training (e.g. clean skip share, token depth,
  // accuracy with the dynamic mechanism off); written as "stats", optional.
  std::map<std::string, double> stats;
  // Sequence models (captioners, translators): their token vocabulary
  // (Vocabulary::Tokens()); written as "vocabulary" when not empty.
  std::vector<std::string> vocabulary;
  // How the model was adversarially trained (models/adversarial_training.h
  // AdversarialLabel), e.g. "pgd linf eps=0.0314 step=0.00784 steps=10
  // mix=0.5"; empty for standard training. Written as "adversarial" when not
  // empty; a file without the key reads as empty.
  std::string adversarial;
};

// Metadata as JSON text and back. FromJson throws ModelError on missing keys.
std::string MetadataToJson(const ModelMetadata& m);
ModelMetadata MetadataFromJson(const std::string& json);

// Writes the model to `path` (and `path`.json). Throws ModelError on I/O
// failure. Refuses (ModelError) to overwrite an existing file unless
// `overwrite`.
void SaveModel(const std::string& path, const torch::nn::Module& module,
               const ModelMetadata& meta, bool overwrite = false);
void SaveModel(const std::string& path, MultiExitCnn model,
               const ModelMetadata& meta, bool overwrite = false);

// A model file's metadata and parameter archive, for any arch.
struct ModelFile {
  std::string path;
  ModelMetadata meta;
  std::shared_ptr<torch::serialize::InputArchive> archive;
};

// Reads a file written by SaveModel. Throws ModelError naming the file if
// it is missing, unreadable or without metadata, or if its dataset is not
// `expected_dataset` (empty: not checked).
ModelFile ReadModelFile(const std::string& path, const std::string& expected_dataset = "");

// Loads the file's parameters into `module` (built from file.meta) and puts
// it in eval mode. Throws ModelError naming the file if they do not fit.
void LoadParameters(const ModelFile& file, torch::nn::Module& module);

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
