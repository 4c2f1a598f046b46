#include "orchestrator/preflight.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include "common/error.h"
#include "orchestrator/experiment.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;

const char* kUnitA = "aaaaaaaaaaaaaaaa";
const char* kUnitB = "bbbbbbbbbbbbbbbb";
const char* kShard = "shards/run0001-rank001.h5";

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

RowBatch Rows(int64_t n) {
  RowBatch b;
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  b.AddInt("sample_index", v);
  return b;
}

UnitPlan Plan(const std::string& id) {
  UnitPlan p;
  p.unit_id = id;
  p.model = "m";
  p.dataset = "fashion-mnist";
  p.split = "test";
  p.attack = "clean";
  p.params_json = "{}";
  p.spec_json = "{}";
  return p;
}

// A data directory, a model file with metadata, and a way to build a run
// directory: the world the checks look at, with the pieces a case breaks.
class PreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(data_dir());
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
      Write(data_dir() + "/" + f, "idx");
    }
    Write(model(), "checkpoint bytes");
    Write(model() + ".json", R"({"arch": "multi_exit_cnn", "dataset": "fashion-mnist"})");
  }

  std::string data_dir() const { return tmp_.File("data"); }
  std::string model() const { return tmp_.File("m.pt"); }
  std::string output() const { return tmp_.File("run"); }

  ExperimentSpec Spec(const std::string& name = "t", const std::string& split = "test") const {
    return ParseSpec("name: " + name + "\noutput: " + output() + "\nmodels: [{name: m, path: " +
                         model() + "}]\ndatasets: [{name: fashion-mnist, split: " + split +
                         ", range: [0, 10]}]\nattacks: [{name: clean}]\n",
                     "exp.yaml");
  }

  // A run of experiment `name` with units A (rows [0,3)) and B (rows [3,5))
  // committed to one shard; `b_rows` overrides B's recorded rows.
  void MakeRun(const std::string& name, RowRange b_rows = {3, 5}) const {
    fs::create_directories(output() + "/shards");
    auto index = OpenSqliteIndex(IndexPath(output()));
    RunRecord run;
    run.name = name;
    run.status = "finished";
    const int64_t run_id = index->BeginRun(run);
    index->PlanUnits(run_id, {Plan(kUnitA), Plan(kUnitB)});
    auto shard = CreateHdf5Shard(output() + "/" + kShard, {});
    const RowRange a = shard->Append(kUnitA, Rows(3));
    shard->Append(kUnitB, Rows(2));
    shard->Close();
    for (const auto& [id, rows] : {std::pair<std::string, RowRange>{kUnitA, a}, {kUnitB, b_rows}}) {
      UnitCompletion done;
      done.unit_id = id;
      done.run_id = run_id;
      done.shard_file = kShard;
      done.row_begin = rows.begin;
      done.row_end = rows.end;
      index->CommitUnit(done);
    }
  }

  TempDir tmp_{"preflight"};
};

// Runs `check`; returns the SpecError message ("" if none was thrown).
std::string ErrorOf(const std::function<void()>& check) {
  try {
    check();
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

// ---- dataset files ----

struct DataCase {
  std::string name;
  std::function<void(const std::string& dir)> damage;
  std::string split;
  std::string fragment;
};

class DatasetFilesErrorTest : public PreflightTest,
                              public ::testing::WithParamInterface<DataCase> {};

TEST_P(DatasetFilesErrorTest, NamesTheFileAndHowToGetIt) {
  const DataCase& c = GetParam();
  c.damage(data_dir());
  const std::string m = ErrorOf([&] { CheckDatasetFiles(Spec("t", c.split), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'fashion-mnist' split '" + c.split + "' needs file '" +
                   data_dir() + "/"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(c.fragment), std::string::npos) << m;
  EXPECT_NE(m.find("apt-get install dataset-fashion-mnist"), std::string::npos) << m;
  EXPECT_NE(m.find("EFFROBUST_FASHION_MNIST_DIR"), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DatasetFilesErrorTest,
    ::testing::Values(
        DataCase{"NoImages",
                 [](const std::string& d) { fs::remove(d + "/t10k-images-idx3-ubyte.gz"); }, "test",
                 "t10k-images-idx3-ubyte.gz', which does not exist"},
        DataCase{"NoLabels",
                 [](const std::string& d) { fs::remove(d + "/t10k-labels-idx1-ubyte.gz"); }, "test",
                 "t10k-labels-idx1-ubyte.gz', which does not exist"},
        DataCase{"NoTrainImages",
                 [](const std::string& d) { fs::remove(d + "/train-images-idx3-ubyte.gz"); },
                 "train", "train-images-idx3-ubyte.gz', which does not exist"},
        DataCase{"NoDirectory", [](const std::string& d) { fs::remove_all(d); }, "test",
                 "t10k-images-idx3-ubyte.gz', which does not exist (looked in '"},
        DataCase{"Directory",
                 [](const std::string& d) {
                   fs::remove(d + "/t10k-images-idx3-ubyte.gz");
                   fs::create_directory(d + "/t10k-images-idx3-ubyte.gz");
                 },
                 "test", "which is a directory, not a file"},
        DataCase{"Empty", [](const std::string& d) { Write(d + "/t10k-labels-idx1-ubyte.gz", ""); },
                 "test", "t10k-labels-idx1-ubyte.gz', which is empty (0 bytes)"}),
    [](const auto& info) { return info.param.name; });

TEST_F(PreflightTest, DatasetFilesThatArePresentPass) {
  EXPECT_EQ(ErrorOf([&] { CheckDatasetFiles(Spec(), data_dir()); }), "");
}

TEST_F(PreflightTest, DatasetDirectoryComesFromTheEnvironmentByDefault) {
  const std::string missing = tmp_.File("elsewhere");
  setenv("EFFROBUST_FASHION_MNIST_DIR", missing.c_str(), 1);
  const std::string m = ErrorOf([&] { CheckDatasetFiles(Spec(), ""); });
  unsetenv("EFFROBUST_FASHION_MNIST_DIR");
  EXPECT_NE(m.find("looked in '" + missing + "', from EFFROBUST_FASHION_MNIST_DIR"),
            std::string::npos)
      << m;
}

TEST_F(PreflightTest, ScenesNeedTheFashionMnistFilesOfTheirSplit) {
  fs::remove(data_dir() + "/train-labels-idx1-ubyte.gz");
  const ExperimentSpec spec = ParseSpec(
      "name: t\nmodels: [{name: m, path: " + model() +
          "}]\ndatasets: [{name: fashion-mnist-scenes, split: train, range: [0, 10]}]\n"
          "attacks: [{name: clean}]\n",
      "exp.yaml");
  const std::string m = ErrorOf([&] { CheckDatasetFiles(spec, data_dir()); });
  EXPECT_NE(m.find("dataset 'fashion-mnist-scenes' split 'train' needs file '" + data_dir() +
                   "/train-labels-idx1-ubyte.gz', which does not exist"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("apt-get install dataset-fashion-mnist"), std::string::npos) << m;
}

TEST_F(PreflightTest, FreeDictNeedsTheDictdFilesAndNamesTheirPackage) {
  const std::string dict = tmp_.File("dictd");
  fs::create_directory(dict);
  Write(dict + "/freedict-eng-deu.index", "00databaseurl\tA\tB\n");
  ExperimentSpec spec;
  spec.file = "exp.yaml";
  DatasetSpec ds;
  ds.name = "freedict-eng-deu";
  ds.split = "test";
  ds.line = 4;
  spec.datasets.push_back(ds);
  std::string m = ErrorOf([&] { CheckDatasetFiles(spec, data_dir(), dict); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'freedict-eng-deu' split 'test' needs file '" + dict +
                   "/freedict-eng-deu.dict.dz', which does not exist"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("apt-get install dict-freedict-eng-deu"), std::string::npos) << m;
  EXPECT_NE(m.find("EFFROBUST_FREEDICT_DIR"), std::string::npos) << m;
  Write(dict + "/freedict-eng-deu.dict.dz", "dz");
  EXPECT_EQ(ErrorOf([&] { CheckDatasetFiles(spec, data_dir(), dict); }), "");
  // The directory comes from the environment by default.
  setenv("EFFROBUST_FREEDICT_DIR", tmp_.File("nowhere").c_str(), 1);
  m = ErrorOf([&] { CheckDatasetFiles(spec, data_dir()); });
  unsetenv("EFFROBUST_FREEDICT_DIR");
  EXPECT_NE(m.find("', from EFFROBUST_FREEDICT_DIR"), std::string::npos) << m;
}

TEST_F(PreflightTest, Cifar10NeedsItsDirectoryAndTheBatchFilesOfItsSplit) {
  const std::string dir = tmp_.File("c10");
  auto spec_for = [&](const std::string& split, int64_t end) {
    return ParseSpec("name: t\nmodels: [{name: m, path: " + model() +
                         "}]\ndatasets:\n  - {name: cifar10, path: " + dir + ", split: " + split +
                         ", range: [0, " + std::to_string(end) + "]}\nattacks: [{name: clean}]\n",
                     "exp.yaml");
  };
  std::string m = ErrorOf([&] { CheckDatasetFiles(spec_for("test", 2), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: key 'path' in dataset 'cifar10' = '" + dir +
                   "' does not exist (allowed: a directory holding the CIFAR-10 binary batches "
                   "data_batch_1.bin .. data_batch_5.bin and test_batch.bin"),
            std::string::npos)
      << m;
  fs::create_directory(dir);
  m = ErrorOf([&] { CheckDatasetFiles(spec_for("test", 2), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'cifar10' split 'test' needs file '" + dir +
                   "/test_batch.bin', which does not exist (looked in path '" + dir + "'"),
            std::string::npos)
      << m;
  Write(dir + "/test_batch.bin", std::string(2 * 3073, '\0'));
  EXPECT_EQ(ErrorOf([&] { CheckDatasetFiles(spec_for("test", 2), data_dir()); }), "");
  m = ErrorOf([&] { CheckDatasetFiles(spec_for("test", 3), data_dir()); });
  EXPECT_NE(m.find("dataset 'cifar10' split 'test' range ends at 3, but the files in '" + dir +
                   "' hold 2 images"),
            std::string::npos)
      << m;
  Write(dir + "/test_batch.bin", std::string(3074, '\0'));
  m = ErrorOf([&] { CheckDatasetFiles(spec_for("test", 1), data_dir()); });
  EXPECT_NE(m.find("test_batch.bin' is not a whole number of 3073-byte records"), std::string::npos)
      << m;
  // The train split reads all five data batches.
  for (int i = 1; i <= 4; ++i) {
    Write(dir + "/data_batch_" + std::to_string(i) + ".bin", std::string(3073, '\0'));
  }
  m = ErrorOf([&] { CheckDatasetFiles(spec_for("train", 2), data_dir()); });
  EXPECT_NE(m.find("split 'train' needs file '" + dir + "/data_batch_5.bin', which does not exist"),
            std::string::npos)
      << m;
}

TEST_F(PreflightTest, ABuiltInModelOnCifar10IsRefusedBeforeTheRun) {
  const std::string dir = tmp_.File("c10");
  fs::create_directory(dir);
  Write(dir + "/test_batch.bin", std::string(4 * 3073, '\0'));
  const ExperimentSpec spec =
      ParseSpec("name: t\noutput: " + output() + "\nmodels: [{name: m, path: " + model() +
                    "}]\ndatasets:\n  - {name: cifar10, path: " + dir +
                    ", range: [0, 4]}\nattacks: [{name: clean}]\n",
                "exp.yaml");
  PreflightOptions checks;
  checks.data_dir = data_dir();
  const std::string m = ErrorOf([&] { PlanExperiment(spec, checks); });
  EXPECT_NE(m.find("exp.yaml:5: dataset 'cifar10' does not match model 'm' (" + model() +
                   "), which was trained on 'fashion-mnist' (allowed: list 'fashion-mnist' under "
                   "datasets, or leave the model out)"),
            std::string::npos)
      << m;
  EXPECT_FALSE(fs::exists(output()));
}

// ---- model files ----

struct ModelCase {
  std::string name;
  std::function<void(const std::string& model)> damage;
  std::function<void(const std::string&, const std::string&)> validator;  // may be empty
  std::string fragment;
};

class ModelFileErrorTest : public PreflightTest, public ::testing::WithParamInterface<ModelCase> {};

TEST_P(ModelFileErrorTest, NamesTheEntryThePathAndWhatIsWrong) {
  const ModelCase& c = GetParam();
  c.damage(model());
  const ExperimentSpec spec = Spec();
  const std::string m = ErrorOf([&] { CheckModelFile(spec, spec.models[0], c.validator); });
  EXPECT_NE(m.find("exp.yaml:3: model 'm' path '" + model() + "' " + c.fragment), std::string::npos)
      << m;
  EXPECT_NE(m.find("(allowed: a checkpoint written by `effrobust train --out " + model() + "`)"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

void NoDamage(const std::string&) {}

INSTANTIATE_TEST_SUITE_P(
    Cases, ModelFileErrorTest,
    ::testing::Values(ModelCase{"Missing", [](const std::string& p) { fs::remove(p); }, nullptr,
                                "does not exist"},
                      ModelCase{"Directory",
                                [](const std::string& p) {
                                  fs::remove(p);
                                  fs::create_directory(p);
                                },
                                nullptr, "is a directory, not a file"},
                      ModelCase{"Empty", [](const std::string& p) { Write(p, ""); }, nullptr,
                                "is empty (0 bytes)"},
                      ModelCase{"DoesNotLoad", NoDamage,
                                [](const std::string&, const std::string&) {
                                  throw std::runtime_error(
                                      "[models] failed finding central directory");
                                },
                                "cannot be loaded: [models] failed finding central directory"},
                      ModelCase{"MultiLineReason", NoDamage,
                                [](const std::string&, const std::string&) {
                                  throw std::runtime_error(
                                      "first line\nException raised from foo at bar.cpp:1");
                                },
                                "cannot be loaded: first line (allowed"}),
    [](const auto& info) { return info.param.name; });

TEST_F(PreflightTest, ModelValidatorGetsThePathAndTheDataset) {
  const ExperimentSpec spec = Spec();
  std::string seen_path, seen_dataset;
  CheckModelFile(spec, spec.models[0], [&](const std::string& p, const std::string& d) {
    seen_path = p;
    seen_dataset = d;
  });
  EXPECT_EQ(seen_path, model());
  EXPECT_EQ(seen_dataset, "fashion-mnist");
}

TEST_F(PreflightTest, TorchScriptModelsGoToTheirValidatorWithTheFamily) {
  ExperimentSpec spec = Spec();
  ModelSpec& m = spec.models[0];
  m.torchscript = true;
  m.family = "skip_gate";
  m.dataset = "fashion-mnist";
  std::string seen;
  bool checkpoint_validator = false;
  const ModelValidator validate = [&](const std::string&, const std::string&) {
    checkpoint_validator = true;
  };
  const TorchScriptValidator ts = [&](const std::string& p, const std::string& f,
                                      const std::string& d) { seen = p + "|" + f + "|" + d; };
  CheckModelFile(spec, m, validate, "fashion-mnist", ts);
  EXPECT_EQ(seen, model() + "|skip_gate|fashion-mnist");
  EXPECT_FALSE(checkpoint_validator);
  const std::string e = ErrorOf([&] {
    CheckModelFile(spec, m, validate, "fashion-mnist",
                   [](const std::string&, const std::string&, const std::string&) {
                     throw std::runtime_error("[models] missing attribute 'block_flops'");
                   });
  });
  EXPECT_NE(e.find("torchscript '" + model() + "' cannot be loaded: [models] missing attribute "
                   "'block_flops' (allowed: a TorchScript skip_gate victim following "
                   "docs/model-contract.md"),
            std::string::npos)
      << e;
}

TEST_F(PreflightTest, WithoutAValidatorOnlyTheFileIsChecked) {
  Write(model(), "random bytes, not a checkpoint");
  const ExperimentSpec spec = Spec();
  EXPECT_EQ(ErrorOf([&] { CheckModelFile(spec, spec.models[0], nullptr); }), "");
}

// ---- run directory ----

TEST_F(PreflightTest, RunDirectoryOfAnotherExperimentIsRefused) {
  MakeRun("alpha");
  const std::string m = ErrorOf([&] { CheckRunDirectory(Spec("beta")); });
  EXPECT_NE(m.find("exp.yaml:2: output directory '" + output() +
                   "' holds run #1 of experiment 'alpha', and this file's name is 'beta' "
                   "(allowed: a new directory or a run directory of 'beta')"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("nothing was changed"), std::string::npos) << m;
}

TEST_F(PreflightTest, RunDirectoryOfTheSameExperimentOrNoneAtAllPasses) {
  EXPECT_EQ(ErrorOf([&] { CheckRunDirectory(Spec("alpha")); }), "");
  MakeRun("alpha");
  EXPECT_EQ(ErrorOf([&] { CheckRunDirectory(Spec("alpha")); }), "");
  EXPECT_EQ(ErrorOf([&] { CheckDoneShards(Spec("alpha")); }), "");
}

TEST_F(PreflightTest, OutputThatIsAFileIsRefused) {
  Write(output(), "not a directory");
  EXPECT_NE(ErrorOf([&] { CheckRunDirectory(Spec()); }).find("exists and is not a directory"),
            std::string::npos);
}

TEST_F(PreflightTest, UnreadableIndexIsRefusedWithTheWayOut) {
  fs::create_directories(output());
  Write(IndexPath(output()), std::string(4096, 'x'));
  const std::string m = ErrorOf([&] { CheckRunDirectory(Spec()); });
  EXPECT_NE(m.find("holds an index that cannot be read"), std::string::npos) << m;
  EXPECT_NE(
      m.find("restore '" + IndexPath(output()) + "' from a backup, or move the directory aside"),
      std::string::npos)
      << m;
}

// ---- shards of done units ----

struct ShardCase {
  std::string name;
  RowRange b_rows;  // what the index records for B
  std::function<void(const std::string& shard)> damage;
  std::string fragment;
};

class DoneShardErrorTest : public PreflightTest, public ::testing::WithParamInterface<ShardCase> {};

TEST_P(DoneShardErrorTest, NamesTheShardAndHowToProceedAndLeavesItAlone) {
  const ShardCase& c = GetParam();
  MakeRun("t", c.b_rows);
  const std::string shard = output() + "/" + kShard;
  c.damage(shard);
  const auto size = fs::file_size(shard);
  const std::string m = ErrorOf([&] { CheckDoneShards(Spec()); });
  EXPECT_NE(m.find("exp.yaml:2: output directory '" + output() + "': shard '" + kShard +
                   "' holding 2 done unit(s) (e.g. " + kUnitA + ") cannot be used: "),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(c.fragment), std::string::npos) << m;
  EXPECT_NE(m.find("mv '" + shard + "' '" + shard + ".corrupt') and run again"), std::string::npos)
      << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_EQ(fs::file_size(shard), size);
}

void Truncate(const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); }
void Garbage(const std::string& p) { Write(p, std::string(fs::file_size(p), '\x7f')); }

INSTANTIATE_TEST_SUITE_P(
    Cases, DoneShardErrorTest,
    ::testing::Values(
        ShardCase{"Truncated", {3, 5}, Truncate, "[results]"},
        ShardCase{"Garbage", {3, 5}, Garbage, "[results]"},
        ShardCase{"Empty", {3, 5}, [](const std::string& p) { Write(p, ""); }, "[results]"},
        ShardCase{"RowsBeyondTheEnd",
                  {3, 9},
                  NoDamage,
                  "unit bbbbbbbbbbbbbbbb needs rows [3, 9) but the shard holds 5 rows"},
        ShardCase{
            "RowsOfAnotherUnit",
            {0, 3},
            NoDamage,
            "row 0 belongs to unit 'aaaaaaaaaaaaaaaa', but the index says rows [0, 3) are unit "
            "bbbbbbbbbbbbbbbb's"}),
    [](const auto& info) { return info.param.name; });

TEST_F(PreflightTest, MissingShardIsNotAnErrorItsUnitsAreRedone) {
  MakeRun("t");
  fs::rename(output() + "/" + kShard, output() + "/moved.h5");
  EXPECT_EQ(ErrorOf([&] { CheckDoneShards(Spec()); }), "");
}

// ---- models and their datasets ----

// A classifier on Fashion-MNIST and a captioner on scenes in one experiment:
// each is validated against, and planned on, its own dataset.
TEST_F(PreflightTest, EachModelIsCheckedAndPlannedOnItsOwnDataset) {
  const std::string cap = tmp_.File("cap.pt");
  Write(cap, "captioner bytes");
  Write(cap + ".json", R"({"arch": "captioner", "dataset": "fashion-mnist-scenes"})");
  const std::string text = "name: t\noutput: " + output() + "\nmodels: [{name: m, path: " +
                           model() + "}, {name: cap, path: " + cap +
                           "}]\ndatasets: [{name: fashion-mnist, range: [0, 10]},\n"
                           "  {name: fashion-mnist-scenes, range: [0, 20], shard_size: 10}]\n"
                           "attacks: [{name: clean}, {name: nicgslowdown}]\n";
  PreflightOptions checks;
  checks.data_dir = data_dir();
  std::map<std::string, std::string> validated;
  checks.validate_model = [&](const std::string& p, const std::string& d) { validated[p] = d; };
  const std::vector<WorkUnit> units = PlanExperiment(ParseSpec(text, "exp.yaml"), checks);
  EXPECT_EQ(validated[model()], "fashion-mnist");
  EXPECT_EQ(validated[cap], "fashion-mnist-scenes");
  std::multiset<std::string> planned;
  for (const auto& u : units) planned.insert(u.model + "/" + u.dataset + "/" + u.attack);
  EXPECT_EQ(planned, (std::multiset<std::string>{
                         "m/fashion-mnist/clean", "cap/fashion-mnist-scenes/clean",
                         "cap/fashion-mnist-scenes/clean", "cap/fashion-mnist-scenes/nicgslowdown",
                         "cap/fashion-mnist-scenes/nicgslowdown"}));
}

// A detector is trained on scenes and planned on the sequences made of the
// same items (UnitDatasetOf).
TEST_F(PreflightTest, DetectorTrainedOnScenesIsCheckedAndPlannedOnSequences) {
  const std::string det = tmp_.File("det.pt");
  Write(det, "detector bytes");
  Write(det + ".json", R"({"arch": "detector", "dataset": "fashion-mnist-scenes"})");
  const std::string text = "name: t\noutput: " + output() + "\nmodels: [{name: det, path: " + det +
                           "}]\ndatasets: [{name: fashion-mnist-sequences, range: [0, 4]}]\n"
                           "attacks: [{name: clean}, {name: slowtrack}, {name: pgd}]\n";
  PreflightOptions checks;
  checks.data_dir = data_dir();
  std::map<std::string, std::string> validated;
  checks.validate_model = [&](const std::string& p, const std::string& d) { validated[p] = d; };
  std::string m;
  std::vector<WorkUnit> units;
  m = ErrorOf([&] { units = PlanExperiment(ParseSpec(text, "exp.yaml"), checks); });
  // pgd fits no model of the experiment: an error naming the families.
  EXPECT_NE(m.find("attack 'pgd' targets early_exit, skip_gate, adaptive_token models, and no model "
                   "of the experiment is one (models: det (detection))"),
            std::string::npos)
      << m;
  const std::string fits = std::regex_replace(text, std::regex(", \\{name: pgd\\}"), "");
  units = PlanExperiment(ParseSpec(fits, "exp.yaml"), checks);
  EXPECT_EQ(validated[det], "fashion-mnist-sequences");
  std::multiset<std::string> planned;
  for (const auto& u : units) planned.insert(u.model + "/" + u.dataset + "/" + u.attack);
  EXPECT_EQ(planned, (std::multiset<std::string>{"det/fashion-mnist-sequences/clean",
                                                 "det/fashion-mnist-sequences/slowtrack"}));
}

// A defense plans into every unit of a model it applies to; one that applies
// to no model of the experiment is refused before anything is written.
TEST_F(PreflightTest, DefensesJoinTheUnitsAndOneFittingNoModelIsRefused) {
  PreflightOptions checks;
  checks.data_dir = data_dir();
  const std::string text = "name: t\noutput: " + output() + "\nmodels: [{name: m, path: " +
                           model() + "}]\ndatasets: [{name: fashion-mnist, range: [0, 10]}]\n"
                           "attacks: [{name: clean}]\ndefenses: [none, {name: jpeg}]\n";
  std::vector<WorkUnit> units = PlanExperiment(ParseSpec(text, "exp.yaml"), checks);
  ASSERT_EQ(units.size(), 1u);
  ASSERT_EQ(units[0].defenses.size(), 1u);
  EXPECT_EQ(units[0].defenses[0].name, "jpeg");
  const std::string caps = std::regex_replace(text, std::regex("\\{name: jpeg\\}"), "decode_cap");
  const std::string m = ErrorOf([&] { PlanExperiment(ParseSpec(caps, "exp.yaml"), checks); });
  EXPECT_NE(m.find("exp.yaml:6: defense 'decode_cap' applies to captioning, translation models, "
                   "and no model of the experiment is one"),
            std::string::npos)
      << m;
  EXPECT_FALSE(fs::exists(output()));
}

TEST_F(PreflightTest, ModelWithoutItsDatasetAndDatasetWithoutAModelAreSpecErrors) {
  PreflightOptions checks;
  checks.data_dir = data_dir();
  const std::string scenes = "name: t\noutput: " + output() + "\nmodels: [{name: m, path: " +
                             model() + "}]\ndatasets: [{name: fashion-mnist-scenes}]\n"
                             "attacks: [{name: clean}]\n";
  std::string m = ErrorOf([&] { PlanExperiment(ParseSpec(scenes, "exp.yaml"), checks); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'fashion-mnist-scenes' does not match model 'm' (" +
                   model() + "), which was trained on 'fashion-mnist'"),
            std::string::npos)
      << m;
  const std::string both = "name: t\noutput: " + output() + "\nmodels: [{name: m, path: " +
                           model() + "}]\ndatasets: [{name: fashion-mnist},\n"
                           "  {name: fashion-mnist-scenes}]\nattacks: [{name: clean}]\n";
  m = ErrorOf([&] { PlanExperiment(ParseSpec(both, "exp.yaml"), checks); });
  EXPECT_NE(m.find("exp.yaml:5: dataset 'fashion-mnist-scenes' is not the training dataset of "
                   "any model"),
            std::string::npos)
      << m;
}

TEST_F(PreflightTest, CaptionsJsonNeedsItsJsonAndTheImagesOfItsRanges) {
  const std::string root = tmp_.File("f8k");
  const std::string json = root + "/dataset.json";
  auto spec_for = [&](int64_t end) {
    return ParseSpec("name: t\nmodels: [{name: m, path: " + model() +
                         "}]\ndatasets:\n  - {name: captions-json, path: " + root + "/img, json: " +
                         json + ", split: test, range: [0, " + std::to_string(end) +
                         "]}\nattacks: [{name: clean}]\n",
                     "exp.yaml");
  };
  std::string m = ErrorOf([&] { CheckDatasetFiles(spec_for(2), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'captions-json' key 'json' = '" + json +
                   "' does not exist (allowed: a Karpathy-style captions JSON file"),
            std::string::npos)
      << m;
  fs::create_directories(root + "/img");
  Write(json, R"({"images": [
    {"filename": "a.png", "split": "test", "sentences": [{"tokens": ["a", "dog"]}]},
    {"filename": "v.png", "split": "val", "sentences": [{"tokens": ["a", "cat"]}]},
    {"filename": "b.png", "split": "test", "sentences": [{"tokens": ["two", "dogs"]}]}]})");
  Write(root + "/img/a.png", "png bytes");
  m = ErrorOf([&] { CheckDatasetFiles(spec_for(3), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'captions-json' split 'test' range ends at 3, but '" +
                   json + "' has 2 images in that split (allowed: a range within them)"),
            std::string::npos)
      << m;
  m = ErrorOf([&] { CheckDatasetFiles(spec_for(2), data_dir()); });
  EXPECT_NE(m.find("split 'test' sample 1 (entry 2 of '" + json +
                   "', filename 'b.png') needs image '" + root +
                   "/img/b.png', which does not exist"),
            std::string::npos)
      << m;
  Write(root + "/img/b.png", "png bytes");
  EXPECT_EQ(ErrorOf([&] { CheckDatasetFiles(spec_for(2), data_dir()); }), "");
  Write(json, R"({"images": [{"filename": "a.png", "split": "test"}]})");
  m = ErrorOf([&] { CheckDatasetFiles(spec_for(1), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'captions-json' "), std::string::npos) << m;
  EXPECT_NE(m.find("sentences"), std::string::npos) << m;
}

TEST_F(PreflightTest, Mot17NeedsItsSequenceFoldersWithGroundTruth) {
  const std::string root = tmp_.File("MOT17");
  auto spec_for = [&](int64_t end) {
    return ParseSpec("name: t\nmodels: [{name: m, path: " + model() +
                         "}]\ndatasets:\n  - {name: mot17, path: " + root + ", range: [0, " +
                         std::to_string(end) + "]}\nattacks: [{name: clean}]\n",
                     "exp.yaml");
  };
  std::string m = ErrorOf([&] { CheckDatasetFiles(spec_for(1), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'mot17' split 'train': [data] MOT folder '" + root +
                   "/train' does not exist"),
            std::string::npos)
      << m;
  const std::string info =
      "[Sequence]\nname=S\nimDir=img1\nframeRate=30\nseqLength=2\nimWidth=8\nimHeight=8\n"
      "imExt=.jpg\n";
  for (const char* seq : {"MOT17-04", "MOT17-02"}) {
    fs::create_directories(root + "/train/" + seq + "/gt");
    Write(root + "/train/" + seq + "/seqinfo.ini", info);
  }
  Write(root + "/train/MOT17-02/gt/gt.txt", "1,1,1,1,4,4,1,1,1\n");
  m = ErrorOf([&] { CheckDatasetFiles(spec_for(3), data_dir()); });
  EXPECT_NE(m.find("dataset 'mot17' split 'train' range ends at 3, but '" + root +
                   "/train' holds 2 sequence folders"),
            std::string::npos)
      << m;
  // Folders in name order: sample 1 is MOT17-04, which lacks gt.txt.
  m = ErrorOf([&] { CheckDatasetFiles(spec_for(2), data_dir()); });
  EXPECT_NE(m.find("dataset 'mot17' sample 1 needs ground truth '" + root +
                   "/train/MOT17-04/gt/gt.txt', which does not exist (allowed: sequences with "
                   "gt/gt.txt"),
            std::string::npos)
      << m;
  EXPECT_EQ(ErrorOf([&] { CheckDatasetFiles(spec_for(1), data_dir()); }), "");
  Write(root + "/train/MOT17-02/seqinfo.ini", "[Sequence]\nimDir=img1\n");
  m = ErrorOf([&] { CheckDatasetFiles(spec_for(1), data_dir()); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'mot17' sample 0: "), std::string::npos) << m;
  EXPECT_NE(m.find("seqinfo.ini"), std::string::npos) << m;
}

TEST_F(PreflightTest, UniversalAttacksNeedTheTrainSplitOfTheirPath) {
  const std::string c10 = tmp_.File("c10");
  fs::create_directory(c10);
  Write(c10 + "/test_batch.bin", std::string(2 * 3073, '\0'));
  auto units_for = [&](const std::string& dataset, const std::string& attacks) {
    const ExperimentSpec spec = ParseSpec(
        "name: t\nmodels: [{name: m, path: m.pt}]\ndatasets:\n  - " + dataset + "\nattacks: " +
            attacks + "\n",
        "exp.yaml");
    return std::make_pair(spec, ExpandUnits(spec, {{"m", "abc"}}));
  };
  auto [spec, units] = units_for("{name: cifar10, path: " + c10 + ", range: [0, 2]}",
                                 "[{name: deepsloth}]");
  EXPECT_EQ(ErrorOf([&] { CheckUniversalFitData(spec, units); }), "");  // per sample
  std::tie(spec, units) = units_for("{name: cifar10, path: " + c10 + ", range: [0, 2]}",
                                    "[{name: deepsloth_universal}]");
  std::string m = ErrorOf([&] { CheckUniversalFitData(spec, units); });
  EXPECT_NE(m.find("exp.yaml:4: dataset 'cifar10' (path '" + c10 +
                   "'): attack 'deepsloth_universal' is universal and fits on the train split, "
                   "which needs file '" + c10 + "/data_batch_1.bin', which does not exist"),
            std::string::npos)
      << m;
  for (int i = 1; i <= 5; ++i) {
    Write(c10 + "/data_batch_" + std::to_string(i) + ".bin", std::string(3073, '\0'));
  }
  EXPECT_EQ(ErrorOf([&] { CheckUniversalFitData(spec, units); }), "");

  const std::string mot = tmp_.File("MOT17");
  fs::create_directories(mot + "/train/MOT17-02/gt");
  Write(mot + "/train/MOT17-02/seqinfo.ini", "[Sequence]\n");
  Write(mot + "/train/MOT17-02/gt/gt.txt", "1,1,1,1,4,4,1,1,1\n");
  std::tie(spec, units) = units_for(
      "{name: mot17, path: " + mot + ", range: [0, 1]}",
      "[{name: phantom_sponge, params: {mode: [universal], fit_sequences: [2]}}]");
  m = ErrorOf([&] { CheckUniversalFitData(spec, units); });
  EXPECT_NE(m.find("attack 'phantom_sponge' is universal and fits on the train split, whose first "
                   "fit_sequences = 2 sequences it reads, but '" + mot +
                   "/train' holds 1 (allowed: fit_sequences up to 1)"),
            std::string::npos)
      << m;
  std::tie(spec, units) = units_for(
      "{name: mot17, path: " + mot + ", range: [0, 1]}",
      "[{name: phantom_sponge, params: {mode: [universal], fit_sequences: [1]}}]");
  EXPECT_EQ(ErrorOf([&] { CheckUniversalFitData(spec, units); }), "");
}

}  // namespace
}  // namespace effrobust
