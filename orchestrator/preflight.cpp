#include "orchestrator/preflight.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "common/value.h"
#include "data/caption_json.h"
#include "data/cifar10.h"
#include "data/fashion_mnist.h"
#include "data/freedict.h"
#include "data/mot_sequence.h"
#include "data/translation_pairs.h"
#include "orchestrator/experiment.h"
#include "results/index.h"
#include "results/shard.h"

namespace effrobust {
namespace fs = std::filesystem;

namespace {

// Rows read from a shard at a time while verifying it.
constexpr int64_t kVerifyBlockRows = 65536;

std::string At(const ExperimentSpec& spec, int line) {
  return spec.file + (line > 0 ? ":" + std::to_string(line) : "") + ": ";
}

// First line of an error message, printable.
std::string Reason(const std::string& what) {
  return Printable(what.substr(0, what.find('\n')), 400);
}

// "" if `path` is a readable regular file, else what is wrong with it.
std::string FileProblem(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return "cannot be inspected: " + ec.message();
  if (!fs::exists(st)) return "does not exist";
  if (fs::is_directory(st)) return "is a directory, not a file";
  if (!fs::is_regular_file(st)) return "is not a regular file";
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("cannot be opened for reading: ") + std::strerror(errno);
  if (in.peek() == std::ifstream::traits_type::eof()) return "is empty (0 bytes)";
  return "";
}

std::string OutputWhere(const ExperimentSpec& spec) {
  return At(spec, spec.output_line > 0 ? spec.output_line : spec.name_line) + "output directory '" +
         Printable(spec.output) + "'";
}

std::unique_ptr<ResultIndex> OpenExistingIndex(const ExperimentSpec& spec) {
  const std::string index = IndexPath(spec.output);
  std::error_code ec;
  if (!fs::exists(index, ec)) return nullptr;
  try {
    return OpenSqliteIndexReadOnly(index);
  } catch (const ResultsError& e) {
    throw SpecError(OutputWhere(spec) + " holds an index that cannot be read (" + Reason(e.what()) +
                    "); nothing was changed (allowed: a new directory or a run directory of '" +
                    Printable(spec.name) + "'): restore '" + Printable(index) +
                    "' from a backup, or move the directory aside or set `output:` to another "
                    "directory");
  }
}

struct DoneUnit {
  std::string id;
  RowRange rows;
};

// "" if `path` holds every unit's rows, tagged with its id; else the problem.
std::string ShardProblem(const std::string& path, std::vector<DoneUnit> units) {
  std::sort(units.begin(), units.end(),
            [](const DoneUnit& a, const DoneUnit& b) { return a.rows.begin < b.rows.begin; });
  try {
    const int64_t count = ShardRowCount(path);
    for (const DoneUnit& u : units) {
      if (u.rows.begin < 0 || u.rows.end <= u.rows.begin || u.rows.end > count) {
        return "unit " + u.id + " needs rows [" + std::to_string(u.rows.begin) + ", " +
               std::to_string(u.rows.end) + ") but the shard holds " + std::to_string(count) +
               " rows";
      }
    }
    // Read contiguous units together, at most kVerifyBlockRows rows at a time.
    for (size_t first = 0; first < units.size();) {
      size_t last = first + 1;
      while (last < units.size() && units[last].rows.begin == units[last - 1].rows.end &&
             units[last].rows.end - units[first].rows.begin <= kVerifyBlockRows) {
        ++last;
      }
      const RowRange block{units[first].rows.begin, units[last - 1].rows.end};
      RowBatch batch = ReadShardRows(path, block);
      const auto& ids = batch.unit_ids();
      if (static_cast<int64_t>(ids.size()) != block.end - block.begin) {
        return "rows [" + std::to_string(block.begin) + ", " + std::to_string(block.end) +
               ") came back with " + std::to_string(ids.size()) + " rows";
      }
      for (size_t i = first; i < last; ++i) {
        for (int64_t r = units[i].rows.begin; r < units[i].rows.end; ++r) {
          const std::string& id = ids[static_cast<size_t>(r - block.begin)];
          if (id != units[i].id) {
            return "row " + std::to_string(r) + " belongs to unit '" + Printable(id) +
                   "', but the index says rows [" + std::to_string(units[i].rows.begin) + ", " +
                   std::to_string(units[i].rows.end) + ") are unit " + units[i].id + "'s";
          }
        }
      }
      first = last;
    }
  } catch (const std::exception& e) {
    return Reason(e.what());
  }
  return "";
}

}  // namespace

namespace {

// The datasets of `spec` reading the same files and split as `ds`.
std::vector<const DatasetSpec*> SameSource(const ExperimentSpec& spec, const DatasetSpec& ds) {
  std::vector<const DatasetSpec*> out;
  for (const DatasetSpec& other : spec.datasets) {
    if (other.name == ds.name && other.path == ds.path && other.json == ds.json &&
        other.split == ds.split) {
      out.push_back(&other);
    }
  }
  return out;
}

// What LoadCaptionedImages reads for the ranges of ds's split: the JSON
// (parsed) and every image file of the ranges (present, not decoded).
void CheckCaptionJson(const ExperimentSpec& spec, const DatasetSpec& ds) {
  const std::string where = At(spec, ds.line) + "dataset '" + ds.name + "' ";
  const std::string problem = FileProblem(ds.json);
  if (!problem.empty()) {
    throw SpecError(where + "key 'json' = '" + Printable(ds.json) + "' " + problem +
                    " (allowed: a Karpathy-style captions JSON file such as dataset_coco.json)");
  }
  std::error_code ec;
  if (!fs::is_directory(ds.path, ec)) {
    throw SpecError(where + "key 'path' = '" + Printable(ds.path) + "' " +
                    (fs::exists(ds.path, ec) ? "is not a directory" : "does not exist") +
                    " (allowed: the image root the JSON's filepath/filename are under)");
  }
  CaptionJson json;
  try {
    json = ReadCaptionJson(ds.json);
  } catch (const DataError& e) {
    throw SpecError(where + Reason(e.what()));
  }
  std::vector<const CaptionEntry*> split;
  for (const CaptionEntry& e : json.entries) {
    if (e.split == ds.split) split.push_back(&e);
  }
  for (const DatasetSpec* other : SameSource(spec, ds)) {
    if (other->end > static_cast<int64_t>(split.size())) {
      throw SpecError(At(spec, other->line) + "dataset '" + ds.name + "' split '" + ds.split +
                      "' range ends at " + std::to_string(other->end) + ", but '" +
                      Printable(ds.json) + "' has " + std::to_string(split.size()) +
                      " images in that split (allowed: a range within them)");
    }
    for (int64_t i = other->begin; i < other->end; ++i) {
      const CaptionEntry& e = *split[static_cast<size_t>(i)];
      const std::string image = CaptionImagePath(ds.path, e);
      const std::string bad = FileProblem(image);
      if (bad.empty()) continue;
      throw SpecError(At(spec, other->line) + "dataset '" + ds.name + "' split '" + ds.split +
                      "' sample " + std::to_string(i) + " (entry " + std::to_string(e.index) +
                      " of '" + Printable(ds.json) + "', filename '" + Printable(e.filename) +
                      "') needs image '" + Printable(image) + "', which " + bad +
                      " (allowed: path naming the image root the JSON's filepath/filename are "
                      "under)");
    }
  }
}

// What LoadMotSequence reads for the ranges of ds's split, short of the
// frames: the sequence folders, their seqinfo.ini and gt/gt.txt.
void CheckMotSequences(const ExperimentSpec& spec, const DatasetSpec& ds) {
  const std::string where = At(spec, ds.line) + "dataset '" + ds.name + "' ";
  std::vector<std::string> dirs;
  try {
    dirs = MotSequenceDirs(ds.path, ds.split);
  } catch (const DataError& e) {
    throw SpecError(where + "split '" + ds.split + "': " + Reason(e.what()));
  }
  for (const DatasetSpec* other : SameSource(spec, ds)) {
    if (other->end > static_cast<int64_t>(dirs.size())) {
      throw SpecError(At(spec, other->line) + "dataset '" + ds.name + "' split '" + ds.split +
                      "' range ends at " + std::to_string(other->end) + ", but '" +
                      Printable(ds.path) + "/" + ds.split + "' holds " +
                      std::to_string(dirs.size()) +
                      " sequence folders (allowed: a range within them, in name order)");
    }
    for (int64_t i = other->begin; i < other->end; ++i) {
      const std::string& dir = dirs[static_cast<size_t>(i)];
      try {
        ReadMotSeqInfo(dir);
      } catch (const DataError& e) {
        throw SpecError(At(spec, other->line) + "dataset '" + ds.name + "' sample " +
                        std::to_string(i) + ": " + Reason(e.what()));
      }
      const std::string gt = dir + "/gt/gt.txt";
      const std::string bad = FileProblem(gt);
      if (bad.empty()) continue;
      throw SpecError(At(spec, other->line) + "dataset '" + ds.name + "' sample " +
                      std::to_string(i) + " needs ground truth '" + Printable(gt) + "', which " +
                      bad + " (allowed: sequences with gt/gt.txt, as MOT17's train split; its "
                      "test split has none)");
    }
  }
}

}  // namespace

void CheckDatasetFiles(const ExperimentSpec& spec, const std::string& data_dir,
                       const std::string& freedict_dir) {
  const char* env = std::getenv("EFFROBUST_FASHION_MNIST_DIR");
  const bool from_env = data_dir.empty() && env != nullptr && env[0] != '\0';
  const std::string dir = data_dir.empty() ? DefaultFashionMnistDir() : data_dir;
  const char* dict_env = std::getenv("EFFROBUST_FREEDICT_DIR");
  const bool dict_from_env = freedict_dir.empty() && dict_env != nullptr && dict_env[0] != '\0';
  const std::string dict_dir = freedict_dir.empty() ? DefaultFreeDictDir() : freedict_dir;
  std::set<std::pair<std::string, std::string>> checked;
  for (const DatasetSpec& ds : spec.datasets) {
    if (!checked.insert({ds.name + "/" + ds.path + "/" + ds.json, ds.split}).second) continue;
    if (ds.name == kCifar10Dataset) {
      // What LoadCifar10(path, split) reads.
      const std::string allowed =
          "allowed: a directory holding the CIFAR-10 binary batches data_batch_1.bin .. "
          "data_batch_5.bin and test_batch.bin, as in cifar-10-batches-bin of "
          "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)";
      std::error_code ec;
      if (!fs::is_directory(ds.path, ec)) {
        throw SpecError(At(spec, ds.line) + "key 'path' in dataset '" + ds.name + "' = '" +
                        Printable(ds.path) + "' " +
                        (fs::exists(ds.path, ec) ? "is not a directory" : "does not exist") +
                        " (" + allowed);
      }
      for (const std::string& file : Cifar10Files(ds.path, ds.split)) {
        const std::string problem = FileProblem(file);
        if (problem.empty()) continue;
        throw SpecError(At(spec, ds.line) + "dataset '" + ds.name + "' split '" + ds.split +
                        "' needs file '" + Printable(file) + "', which " + problem +
                        " (looked in path '" + Printable(ds.path) + "'; " + allowed);
      }
      // Every range of the split must lie within the images its files hold.
      int64_t images = 0;
      for (const std::string& file : Cifar10Files(ds.path, ds.split)) {
        const auto bytes = static_cast<int64_t>(fs::file_size(file, ec));
        if (ec || bytes % kCifar10RecordBytes != 0) {
          throw SpecError(At(spec, ds.line) + "dataset '" + ds.name + "' file '" +
                          Printable(file) + "' is not a whole number of " +
                          std::to_string(kCifar10RecordBytes) + "-byte records (" + allowed);
        }
        images += bytes / kCifar10RecordBytes;
      }
      for (const DatasetSpec& other : spec.datasets) {
        if (other.name != ds.name || other.path != ds.path || other.split != ds.split) continue;
        if (other.end <= images) continue;
        throw SpecError(At(spec, other.line) + "dataset '" + ds.name + "' split '" + ds.split +
                        "' range ends at " + std::to_string(other.end) + ", but the files in '" +
                        Printable(ds.path) + "' hold " + std::to_string(images) +
                        " images (allowed: a range within them)");
      }
      continue;
    }
    if (ds.name == kCaptionJsonDataset) {
      CheckCaptionJson(spec, ds);
      continue;
    }
    if (ds.name == kMot17Dataset) {
      CheckMotSequences(spec, ds);
      continue;
    }
    if (ds.name == kTranslationDataset) {
      // What LoadFreeDict(dir, "freedict-eng-deu") reads; both splits.
      for (const char* suffix : {".index", ".dict.dz"}) {
        const std::string file = dict_dir + "/freedict-eng-deu" + suffix;
        const std::string problem = FileProblem(file);
        if (problem.empty()) continue;
        throw SpecError(At(spec, ds.line) + "dataset '" + ds.name + "' split '" + ds.split +
                        "' needs file '" + Printable(file) + "', which " + problem +
                        " (looked in '" + Printable(dict_dir) + "'" +
                        (dict_from_env ? ", from EFFROBUST_FREEDICT_DIR" : "") +
                        "; allowed: the dictd files of the Debian package dict-freedict-eng-deu: "
                        "apt-get install dict-freedict-eng-deu, or set EFFROBUST_FREEDICT_DIR to "
                        "a directory holding them)");
      }
      continue;
    }
    // fashion-mnist, and fashion-mnist-scenes and -sequences made of its items.
    std::vector<std::string> files;
    try {
      files = FashionMnistFiles(dir, ds.split);
    } catch (const DataError& e) {
      throw SpecError(At(spec, ds.line) + "dataset '" + ds.name + "': " + e.what());
    }
    for (const std::string& file : files) {
      const std::string problem = FileProblem(file);
      if (problem.empty()) continue;
      throw SpecError(At(spec, ds.line) + "dataset '" + ds.name + "' split '" + ds.split +
                      "' needs file '" + Printable(file) + "', which " + problem + " (looked in '" +
                      Printable(dir) + "'" +
                      (from_env ? ", from EFFROBUST_FASHION_MNIST_DIR" : "") +
                      "; allowed: the Fashion-MNIST IDX files of the Debian package "
                      "dataset-fashion-mnist: apt-get install dataset-fashion-mnist, or set "
                      "EFFROBUST_FASHION_MNIST_DIR to a directory holding them)");
    }
  }
}

void CheckUniversalFitData(const ExperimentSpec& spec, const std::vector<WorkUnit>& units) {
  std::set<std::string> checked;
  for (const WorkUnit& u : units) {
    const bool universal = u.attack == "deepsloth_universal" || TextField(u.params, "mode") == "universal";
    if (!universal || (u.dataset != kCifar10Dataset && u.dataset != kMot17Dataset)) continue;
    int64_t fit = 0;
    if (u.dataset == kMot17Dataset) fit = static_cast<int64_t>(NumberField(u.params, "fit_sequences"));
    if (!checked.insert(u.dataset + "/" + u.data_path + "/" + std::to_string(fit)).second) continue;
    int line = 0;
    for (const DatasetSpec& ds : spec.datasets) {
      if (ds.name == u.dataset && ds.path == u.data_path && line == 0) line = ds.line;
    }
    const std::string where = At(spec, line) + "dataset '" + u.dataset + "' (path '" +
                              Printable(u.data_path) + "'): attack '" + u.attack +
                              "' is universal and fits on the train split, ";
    if (u.dataset == kCifar10Dataset) {
      for (const std::string& file : Cifar10Files(u.data_path, "train")) {
        const std::string problem = FileProblem(file);
        if (problem.empty()) continue;
        throw SpecError(where + "which needs file '" + Printable(file) + "', which " + problem +
                        " (allowed: the CIFAR-10 binary batches data_batch_1.bin .. "
                        "data_batch_5.bin beside test_batch.bin, or a per-sample attack)");
      }
      continue;
    }
    std::vector<std::string> dirs;
    try {
      dirs = MotSequenceDirs(u.data_path, "train");
    } catch (const DataError& e) {
      throw SpecError(where + "but " + Reason(e.what()));
    }
    if (static_cast<int64_t>(dirs.size()) < fit) {
      throw SpecError(where + "whose first fit_sequences = " + std::to_string(fit) +
                      " sequences it reads, but '" + Printable(u.data_path) + "/train' holds " +
                      std::to_string(dirs.size()) + " (allowed: fit_sequences up to " +
                      std::to_string(dirs.size()) + ")");
    }
    for (int64_t i = 0; i < fit; ++i) {
      const std::string gt = dirs[static_cast<size_t>(i)] + "/gt/gt.txt";
      const std::string problem = FileProblem(gt);
      if (problem.empty()) continue;
      throw SpecError(where + "which needs ground truth '" + Printable(gt) + "', which " + problem +
                      " (allowed: train sequences with gt/gt.txt)");
    }
  }
}

void CheckModelFile(const ExperimentSpec& spec, const ModelSpec& model,
                    const ModelValidator& validate, const std::string& dataset,
                    const TorchScriptValidator& validate_torchscript) {
  const std::string where = At(spec, model.line) + "model '" + Printable(model.name) + "' " +
                            (model.torchscript ? "torchscript" : "path") + " '" +
                            Printable(model.path) + "' ";
  const std::string allowed =
      model.torchscript
          ? " (allowed: a TorchScript " + model.family +
                " victim following docs/model-contract.md, saved with torch.jit.save)"
          : " (allowed: a checkpoint written by `effrobust train --out " + Printable(model.path) +
                "`)";
  const std::string problem = FileProblem(model.path);
  if (!problem.empty()) throw SpecError(where + problem + allowed);
  if (!validate && !(model.torchscript && validate_torchscript)) return;
  const std::string on =
      !dataset.empty() || spec.datasets.empty() ? dataset : spec.datasets.front().name;
  try {
    if (model.torchscript && validate_torchscript) {
      validate_torchscript(model.path, model.family, on);
    } else {
      validate(model.path, on);
    }
  } catch (const std::exception& e) {
    throw SpecError(where + "cannot be loaded: " + Reason(e.what()) + allowed);
  }
}

void CheckRunDirectory(const ExperimentSpec& spec) {
  std::error_code ec;
  const fs::file_status st = fs::status(spec.output, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw SpecError(OutputWhere(spec) + " cannot be inspected: " + ec.message() +
                    " (allowed: a directory path effrobust can create or use)");
  }
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) {
    throw SpecError(OutputWhere(spec) +
                    " exists and is not a directory (allowed: a new directory or a run directory "
                    "of '" +
                    Printable(spec.name) + "')");
  }
  auto index = OpenExistingIndex(spec);
  if (!index) return;
  std::vector<RunRecord> runs;
  try {
    runs = index->Runs();
  } catch (const ResultsError& e) {
    throw SpecError(OutputWhere(spec) + " holds an index whose runs cannot be read (" +
                    Reason(e.what()) + "); nothing was changed: restore '" +
                    Printable(IndexPath(spec.output)) +
                    "' from a backup, or move the directory aside or set `output:` to another "
                    "directory");
  }
  for (const RunRecord& r : runs) {
    if (r.name == spec.name) continue;
    throw SpecError(OutputWhere(spec) + " holds run #" + std::to_string(r.run_id) +
                    " of experiment '" + Printable(r.name) + "', and this file's name is '" +
                    Printable(spec.name) + "' (allowed: a new directory or a run directory of '" +
                    Printable(spec.name) +
                    "'); nothing was changed: set `output:` to another directory, or use name '" +
                    Printable(r.name) + "' to continue that experiment");
  }
}

void CheckDoneShards(const ExperimentSpec& spec) {
  auto index = OpenExistingIndex(spec);
  if (!index) return;
  std::vector<UnitRecord> units;
  try {
    units = index->Units();
  } catch (const ResultsError& e) {
    throw SpecError(OutputWhere(spec) + " holds an index whose units cannot be read (" +
                    Reason(e.what()) + "); nothing was changed: restore '" +
                    Printable(IndexPath(spec.output)) +
                    "' from a backup, or move the directory aside or set `output:` to another "
                    "directory");
  }
  std::map<std::string, std::vector<DoneUnit>> by_shard;
  for (const UnitRecord& u : units) {
    if (u.status != "done") continue;
    by_shard[u.shard_file].push_back({u.plan.unit_id, {u.row_begin, u.row_end}});
  }
  for (const auto& [shard_file, done] : by_shard) {
    const std::string path = (fs::path(spec.output) / shard_file).string();
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) continue;  // redone by PrepareRun
    const std::string problem =
        shard_file.empty() ? "the index names no shard file" : ShardProblem(path, done);
    if (problem.empty()) continue;
    throw SpecError(OutputWhere(spec) + ": shard '" + Printable(shard_file) + "' holding " +
                    std::to_string(done.size()) + " done unit(s) (e.g. " + done.front().id +
                    ") cannot be used: " + problem +
                    ". Nothing was changed. To redo those units, move the shard aside (mv '" +
                    Printable(path) + "' '" + Printable(path) +
                    ".corrupt') and run again; to keep them, restore the file from a backup");
  }
}

}  // namespace effrobust
