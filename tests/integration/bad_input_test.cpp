// End to end: the real `effrobust` binary on bad input it meets outside the
// experiment file — the output directory of another experiment, a corrupted
// shard on resume, a corrupted model file, missing Fashion-MNIST files, a
// corrupted index. Each must exit 2 with exactly one "effrobust: ..." line
// naming the file, key, value and the way out, and leave every existing file
// as it was (listing, sizes, modification times and content hashes compared
// before and after).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/hash.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_model.h"
#include "tests/support/process.h"

namespace effrobust {
namespace {

using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

struct Result {
  int rc = -1;
  std::string out, err;
};

// Runs `cmd` through the shell; stdout and stderr are captured apart.
Result Shell(const std::string& cmd, const std::string& scratch) {
  const int status = std::system((cmd + " >" + scratch + ".out 2>" + scratch + ".err").c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(scratch + ".out");
  r.err = Slurp(scratch + ".err");
  return r;
}

std::string Mpirun(int np) {
  return "timeout 300 mpirun --allow-run-as-root --oversubscribe --bind-to none -np " +
         std::to_string(np) + " ";
}

// Every entry under `dir`: relative path -> type, size, mtime, content hash.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> entries;
  if (!fs::exists(dir)) return entries;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      entries[rel] = "dir";
      continue;
    }
    const auto mtime = e.last_write_time().time_since_epoch().count();
    entries[rel] = std::to_string(e.file_size()) + " bytes, mtime " + std::to_string(mtime) +
                   ", fnv " + Hex16(Fnv1a64(Slurp(e.path().string())));
  }
  return entries;
}

// Exit 2, nothing on stdout, and stderr exactly one "effrobust: " line
// holding every fragment.
void ExpectOneErrorLine(const Result& r, const std::vector<std::string>& fragments) {
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(r.err.rfind("effrobust: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not exactly one line:\n" << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << f << "\n" << r.err;
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("badinput");
    WriteTinyModel(dir_->File("m.pt"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // An experiment of 2 shards x 2 attacks on the tiny model.
  static std::string WriteSpec(const std::string& file, const std::string& name,
                               const std::string& output, const std::string& model) {
    const std::string path = dir_->File(file + ".yaml");
    std::ofstream(path) << "name: " << name << "\nseed: 5\noutput: " << output << "\n"
                        << "models: [{name: tiny, path: " << model << "}]\n"
                        << "datasets: [{name: fashion-mnist, range: [0, 16], shard_size: 8}]\n"
                        << "attacks:\n  - name: clean\n  - name: pgd\n    params: {iterations: 2}\n"
                        << "measure: {latency_repeats: 0, latency_warmup: 0, batch_size: 8}\n";
    return path;
  }

  // A finished run of experiment `name` in a fresh directory; returns it.
  static std::string FinishedRun(const std::string& tag, const std::string& name) {
    const std::string out = dir_->File(tag);
    const std::string spec = WriteSpec(tag, name, out, dir_->File("m.pt"));
    Result r = Shell(Bin() + " run " + spec, dir_->File(tag + "-first"));
    EXPECT_EQ(r.rc, 0) << r.err;
    return out;
  }

  // The one shard file of a finished single-process run.
  static std::string OnlyShard(const std::string& run_dir) {
    std::vector<std::string> shards;
    for (const auto& e : fs::directory_iterator(run_dir + "/shards"))
      shards.push_back(e.path().string());
    EXPECT_EQ(shards.size(), 1u);
    return shards.empty() ? "" : shards.front();
  }

  static TempDir* dir_;
};

TempDir* BadInputTest::dir_ = nullptr;

TEST_F(BadInputTest, OutputDirectoryOfAnotherExperimentIsRefusedUntouched) {
  const std::string out = FinishedRun("alpha-dir", "alpha");
  const auto before = Snapshot(out);
  const std::string other = WriteSpec("beta", "beta", out, dir_->File("m.pt"));
  for (const char* command : {" plan ", " run "}) {
    Result r = Shell(Bin() + command + other, dir_->File("beta"));
    ExpectOneErrorLine(r, {other + ":3: output directory '" + out + "'", "experiment 'alpha'",
                           "name is 'beta'", "allowed: a new directory"});
  }
  EXPECT_EQ(Snapshot(out), before);
}

struct ShardDamage {
  std::string name;
  void (*damage)(const std::string& shard);
};

class CorruptedShardTest : public BadInputTest,
                           public ::testing::WithParamInterface<ShardDamage> {};

TEST_P(CorruptedShardTest, ResumeNamesTheShardKeepsItAndRedoesItsUnitsOnceMovedAside) {
  const std::string tag = "shard-" + GetParam().name;
  const std::string out = FinishedRun(tag, tag);
  const std::string shard = OnlyShard(out);
  GetParam().damage(shard);
  const auto before = Snapshot(out);
  const std::string spec = dir_->File(tag + ".yaml");
  Result r = Shell(Bin() + " run " + spec, dir_->File(tag + "-resume"));
  ExpectOneErrorLine(r, {spec + ":3: output directory '" + out + "'",
                         "shard '" + fs::relative(shard, out).string() + "'", "4 done unit(s)",
                         "Nothing was changed", "mv '" + shard + "' '" + shard + ".corrupt'"});
  EXPECT_EQ(Snapshot(out), before);

  // tables and status read only the index: they still work.
  EXPECT_EQ(Shell(Bin() + " status " + out, dir_->File(tag + "-status")).rc, 0);
  EXPECT_EQ(Shell(Bin() + " tables " + out, dir_->File(tag + "-tables")).rc, 0);

  // Following the advice: the units are redone and the damaged file is kept.
  fs::rename(shard, shard + ".corrupt");
  Result again = Shell(Bin() + " run " + spec, dir_->File(tag + "-again"));
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.err.find("4 units planned, 0 already done, 4 to run"), std::string::npos)
      << again.err;
  EXPECT_TRUE(fs::exists(shard + ".corrupt"));
}

INSTANTIATE_TEST_SUITE_P(
    Damages, CorruptedShardTest,
    ::testing::Values(
        ShardDamage{"truncated",
                    [](const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); }},
        ShardDamage{"garbage",
                    [](const std::string& p) {
                      const auto size = fs::file_size(p);
                      std::ofstream(p, std::ios::binary | std::ios::trunc)
                          << std::string(size, '\x5a');
                    }},
        ShardDamage{"empty", [](const std::string& p) { std::ofstream(p, std::ios::trunc); }}),
    [](const auto& info) { return info.param.name; });

TEST_F(BadInputTest, CorruptedShardUnderMpirunStopsTheWorkersAndExits2) {
  const std::string out = FinishedRun("shard-mpi", "shard-mpi");
  const std::string shard = OnlyShard(out);
  fs::resize_file(shard, fs::file_size(shard) / 3);
  const auto before = Snapshot(out);
  Result r = Shell(Mpirun(3) + Bin() + " run " + dir_->File("shard-mpi.yaml"),
                   dir_->File("shard-mpi-run"));
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("effrobust: [spec] "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shard '" + fs::relative(shard, out).string() + "'"), std::string::npos)
      << r.err;
  EXPECT_EQ(Snapshot(out), before);
}

struct ModelDamage {
  std::string name;
  std::string fragment;  // what the message says is wrong
  void (*damage)(const std::string& model);
};

class CorruptedModelTest : public BadInputTest,
                           public ::testing::WithParamInterface<ModelDamage> {};

TEST_P(CorruptedModelTest, PlanAndRunNameTheModelEntryAndPathAndWriteNothing) {
  const std::string tag = "model-" + GetParam().name;
  const std::string model = dir_->File(tag + ".pt");
  WriteTinyModel(model);
  const std::string out = dir_->File(tag + "-out");
  const std::string spec = WriteSpec(tag, tag, out, model);
  ASSERT_EQ(Shell(Bin() + " run " + spec, dir_->File(tag + "-first")).rc, 0);
  GetParam().damage(model);
  const auto before = Snapshot(out);
  for (const char* command : {" plan ", " run "}) {
    Result r = Shell(Bin() + command + spec, dir_->File(tag + "-bad"));
    ExpectOneErrorLine(r,
                       {spec + ":4: model 'tiny' path '" + model + "' ", GetParam().fragment,
                        "allowed: a checkpoint written by `effrobust train --out " + model + "`"});
  }
  EXPECT_EQ(Snapshot(out), before);
}

INSTANTIATE_TEST_SUITE_P(
    Damages, CorruptedModelTest,
    ::testing::Values(
        ModelDamage{"truncated", "cannot be loaded: [models] cannot read model file",
                    [](const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); }},
        ModelDamage{"random_bytes", "cannot be loaded: ",
                    [](const std::string& p) {
                      std::string bytes(fs::file_size(p), '\0');
                      uint64_t x = 88172645463325252ull;
                      for (auto& c : bytes) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        c = static_cast<char>(x);
                      }
                      std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
                    }},
        ModelDamage{"directory", "is a directory, not a file",
                    [](const std::string& p) {
                      fs::remove(p);
                      fs::create_directory(p);
                    }},
        ModelDamage{"empty", "is empty (0 bytes)",
                    [](const std::string& p) { std::ofstream(p, std::ios::trunc); }},
        ModelDamage{"missing", "does not exist", [](const std::string& p) { fs::remove(p); }}),
    [](const auto& info) { return info.param.name; });

TEST_F(BadInputTest, UnreadableModelFileIsNamedWhenPermissionsApply) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their permissions";
  const std::string model = dir_->File("noread.pt");
  WriteTinyModel(model);
  fs::permissions(model, fs::perms::none);
  const std::string spec = WriteSpec("noread", "noread", dir_->File("noread-out"), model);
  ExpectOneErrorLine(Shell(Bin() + " plan " + spec, dir_->File("noread")),
                     {"model 'tiny' path '" + model + "' cannot be opened for reading"});
}

TEST_F(BadInputTest, TrainOptionsOfTheViTOnAnotherArchOrWithABadValueExit2) {
  const std::string out = dir_->File("never-trained.pt");
  ExpectOneErrorLine(Shell(Bin() + " train --arch skip_net --patch 4 --out " + out,
                           dir_->File("train-arch")),
                     {"--patch", "adaptive_vit only", "'skip_net'"});
  ExpectOneErrorLine(Shell(Bin() + " train --arch adaptive_vit --ponder-weight abc --out " + out,
                           dir_->File("train-value")),
                     {"--ponder-weight", "'abc'", "number >= 0"});
  ExpectOneErrorLine(Shell(Bin() + " train --arch multi_exit_cnn --cell gru --out " + out,
                           dir_->File("train-cell")),
                     {"--cell", "captioner or translator only", "'multi_exit_cnn'"});
  ExpectOneErrorLine(Shell(Bin() + " train --arch captioner --cell rnn --out " + out,
                           dir_->File("train-cell-value")),
                     {"--cell 'rnn'", "allowed: lstm, gru"});
  ExpectOneErrorLine(Shell(Bin() + " train --arch captioner --scenes 0 --out " + out,
                           dir_->File("train-scenes")),
                     {"--scenes", ">= 1", "0"});
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(BadInputTest, MissingDataFilesAreNamedWithTheWayToGetThem) {
  const std::string out = FinishedRun("data-run", "data-run");
  const std::string spec = dir_->File("data-run.yaml");
  const std::string partial = dir_->File("partial-data");
  fs::create_directory(partial);
  fs::copy_file("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                partial + "/t10k-images-idx3-ubyte.gz");
  const auto before = Snapshot(out);
  const std::vector<std::pair<std::string, std::string>> dirs = {
      {dir_->File("no-such-dir"), dir_->File("no-such-dir") + "/t10k-images-idx3-ubyte.gz"},
      {partial, partial + "/t10k-labels-idx1-ubyte.gz"}};
  for (const auto& [data_dir, missing] : dirs) {
    for (const char* command : {" plan ", " run "}) {
      Result r = Shell("EFFROBUST_FASHION_MNIST_DIR=" + data_dir + " " + Bin() + command + spec,
                       dir_->File("data-bad"));
      ExpectOneErrorLine(
          r, {spec + ":5: dataset 'fashion-mnist' split 'test' needs file '" + missing +
                  "', which does not exist",
              "from EFFROBUST_FASHION_MNIST_DIR", "apt-get install dataset-fashion-mnist"});
    }
  }
  EXPECT_EQ(Snapshot(out), before);
}

TEST_F(BadInputTest, CorruptedIndexGivesOneLineFromEveryCommand) {
  const std::string out = FinishedRun("index-bad", "index-bad");
  const std::string index = out + "/index.sqlite";
  std::ofstream(index, std::ios::binary | std::ios::trunc) << std::string(8192, '\x13');
  const auto before = Snapshot(out);
  const std::string spec = dir_->File("index-bad.yaml");
  for (const std::string command :
       {" status " + out, " tables " + out, " plan " + spec, " run " + spec}) {
    Result r = Shell(Bin() + command, dir_->File("index-cmd"));
    ExpectOneErrorLine(r, {"'" + index + "'"});
  }
  EXPECT_EQ(Snapshot(out), before);
  ExpectOneErrorLine(
      Shell(Bin() + " status " + dir_->File("no-run-here"), dir_->File("index-none")),
      {"has no readable index"});
}

}  // namespace
}  // namespace effrobust
