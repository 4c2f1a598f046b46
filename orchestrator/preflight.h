// Checks made before any unit runs and before anything is written: the
// dataset files are there, every model file is a checkpoint that loads, the
// run directory (if it exists) belongs to this experiment, and on resume the
// shards of done units still hold their rows. Every failure is a SpecError
// (exit code 2) naming the experiment file and line, the key, the value and
// what is allowed or what to do; nothing is changed on disk.
//
// Torch-free: loading a checkpoint needs torch, so it goes through a
// ModelValidator hook that the caller (the CLI) supplies. Without one only
// file-level checks run (exists, regular file, readable, non-empty).
// Reads files only; thread-compatible.
#ifndef EFFROBUST_ORCHESTRATOR_PREFLIGHT_H_
#define EFFROBUST_ORCHESTRATOR_PREFLIGHT_H_

#include <functional>
#include <string>

#include "orchestrator/plan.h"
#include "orchestrator/spec.h"

namespace effrobust {

// Loads the checkpoint at `path`, which must be a model trained on
// `dataset`. Returns normally if it loads; throws any std::exception whose
// what() says what is wrong otherwise.
using ModelValidator = std::function<void(const std::string& path, const std::string& dataset)>;

// Loads the TorchScript victim at `path` (docs/model-contract.md), which
// must declare `family`, and checks its contract. Throws as ModelValidator.
using TorchScriptValidator = std::function<void(const std::string& path, const std::string& family,
                                                const std::string& dataset)>;

struct PreflightOptions {
  ModelValidator validate_model;  // Default: none (file-level checks only)
  // For `torchscript:` models; Default: none (validate_model, if set, runs instead).
  TorchScriptValidator validate_torchscript;
  std::string data_dir;           // Default "": DefaultFashionMnistDir()
  std::string freedict_dir;       // Default "": DefaultFreeDictDir()
};

// Every file that each (dataset, split) of `spec` reads exists and is a
// readable regular file: fashion-mnist and fashion-mnist-scenes (composed of
// Fashion-MNIST items of the same split) read the split's IDX files in
// `data_dir` ("" = DefaultFashionMnistDir()); freedict-eng-deu reads the
// dictd files of FreeDict's English-German dictionary in `freedict_dir`
// ("" = DefaultFreeDictDir()). The error names the dataset, the missing
// file and how to get it (the Debian package dataset-fashion-mnist or
// dict-freedict-eng-deu, or EFFROBUST_FASHION_MNIST_DIR /
// EFFROBUST_FREEDICT_DIR).
void CheckDatasetFiles(const ExperimentSpec& spec, const std::string& data_dir,
                       const std::string& freedict_dir = "");

// Universal attacks fit on the train split of the data their units read:
// for a unit on cifar10 or mot17 whose attack is universal
// (deepsloth_universal, or mode: universal), the train split under the same
// path must be there (cifar10: every data_batch file; mot17: at least
// fit_sequences sequence folders with gt/gt.txt), even when no dataset
// entry lists it. Throws SpecError naming the dataset entry, the attack and
// the missing files.
void CheckUniversalFitData(const ExperimentSpec& spec, const std::vector<WorkUnit>& units);

// `model.path` is a readable, non-empty regular file and, if `validate` is
// set, loads as a model for `dataset` ("" = the spec's first dataset). A
// `torchscript:` model is checked by `validate_torchscript` when set (with
// its family), else by `validate`.
void CheckModelFile(const ExperimentSpec& spec, const ModelSpec& model,
                    const ModelValidator& validate, const std::string& dataset = "",
                    const TorchScriptValidator& validate_torchscript = nullptr);

// If spec.output exists it must be a directory; if it holds an index, the
// index must open and every run recorded in it must carry spec.name (the
// output directory of another experiment is refused). Opens the index
// read-only.
void CheckRunDirectory(const ExperimentSpec& spec);

// For every unit that the index in spec.output records as done and whose
// shard file exists: the shard opens and rows [row_begin, row_end) are there
// and tagged with the unit's id. A shard that fails is named with the units
// it holds and the way out (move it aside so its units are redone); it is
// never modified. Missing shards are not an error (their units are redone).
// Does nothing if there is no index.
void CheckDoneShards(const ExperimentSpec& spec);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_PREFLIGHT_H_
