// TorchScript victims end to end (issue 9 §1): one experiment YAML with a
// built-in checkpoint beside a scripted victim of each D1 family (made by
// tests/support/make_torchscript_victims.py with Debian's python3-torch),
// run by the real binary under mpirun: every unit done, each family's own
// metric and cost columns filled; a scripted file that declares another
// family than the YAML is refused before anything runs (exit 2). The
// exit_cap defense caps the scripted early-exit victim as a built-in one.
// A 3x32x32 scripted victim runs on a tiny CIFAR-10 directory written here
// in the binary format (`dataset: cifar10` with its `path`); a built-in
// (Fashion-MNIST) model on cifar10 is refused before anything runs.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "evaluation/defense_views.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/process.h"
#include "tests/support/scratch_suite.h"
#include "tests/support/scripted_models.h"
#include "tests/support/tiny_model.h"

namespace effrobust {
namespace {

using test::Mpirun;
using test::Shell;
using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

class TorchScriptRunTest : public test::ScratchSuite<TorchScriptRunTest> {
 protected:
  static void SetUpTestSuite() {
    skip_reason_ = "/usr/bin/python3 has no torch (python3-torch)";
    if (!test::HavePythonTorch()) return;
    MakeScratch("torchscript");
    WriteTinyModel(*dir_ + "/tiny.pt", 3);
    made_ = test::RunModelScript("make_torchscript_victims.py", *dir_,
                                 "/usr/share/datasets/fashion-mnist", *dir_ + "/make.log");
  }
};

TEST_F(TorchScriptRunTest, OneYamlRunsABuiltInModelBesideAScriptedVictimOfEachFamily) {
  const std::string out = *dir_ + "/run";
  const std::string spec = *dir_ + "/side-by-side.yaml";
  std::ofstream(spec) << "name: side-by-side\nseed: 3\noutput: " << out << "\n"
                      << "models:\n"
                      << "  - {name: builtin-sdn, path: " << *dir_ << "/tiny.pt}\n"
                      << "  - {name: ts-sdn, torchscript: " << *dir_
                      << "/early_exit.pt, family: early_exit, dataset: fashion-mnist}\n"
                      << "  - {name: ts-skip, torchscript: " << *dir_
                      << "/skip_gate.pt, family: skip_gate, dataset: fashion-mnist}\n"
                      << "  - {name: ts-avit, torchscript: " << *dir_
                      << "/adaptive_token.pt, family: adaptive_token, dataset: fashion-mnist}\n"
                      << "datasets: [{name: fashion-mnist, split: test, range: [0, 8]}]\n"
                      << "attacks:\n"
                      << "  - name: clean\n"
                      << "  - {name: deepsloth, params: {iterations: 2}}\n"
                      << "  - {name: ilfo, params: {iterations: 3}}\n"
                      << "  - {name: slowformer, params: {mode: per_sample, iterations: 2}}\n"
                      << "defenses:\n  - none\n  - {name: exit_cap, params: {k: 2}}\n"
                      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 8}\n";
  const std::string log = *dir_ + "/run.log";
  ASSERT_EQ(Shell(Mpirun(2) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  auto units = index->Units();
  // clean + the family's own attack, per model.
  ASSERT_EQ(units.size(), 8u);
  const std::map<std::string, std::string> metric_of = {{"builtin-sdn", "exit_rad5"},
                                                        {"ts-sdn", "exit_rad5"},
                                                        {"ts-skip", "blocks_run"},
                                                        {"ts-avit", "token_depth"}};
  std::map<std::string, int> per_model;
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    ++per_model[u.plan.model];
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_EQ(rows.rows(), 8u);
    const std::string metric = metric_of.at(u.plan.model);
    const std::string s = metric == "exit_rad5" ? "_rad5" : "";
    for (std::string c : {"flops_clean", "flops_adv", "energy_clean_pj", "latency_clean_ms"}) {
      for (double v : rows.Get(c + s).reals) {
        EXPECT_TRUE(std::isfinite(v) && v > 0) << u.plan.model << " " << c << s;
      }
    }
    if (u.plan.model == "ts-sdn") {  // the exit cap reaches the scripted victim
      const Column& capped = rows.Get(DefenseViewPrefix("exit_cap") + "exit_adv_rad5");
      ASSERT_EQ(capped.size(), 8u);
      for (int64_t e : capped.ints) EXPECT_LE(e, 1) << u.plan.unit_id;
    }
    const std::string stem = metric.substr(0, metric.size() - s.size());
    EXPECT_EQ(rows.Get(stem + "_clean" + s).size(), 8u) << u.plan.model << " " << stem;
    EXPECT_EQ(rows.Get(stem + "_adv" + s).size(), 8u) << u.plan.model << " " << stem;
  }
  for (const auto& [model, metric] : metric_of) EXPECT_EQ(per_model[model], 2) << model;
}

TEST_F(TorchScriptRunTest, AScriptedFileDeclaringAnotherFamilyIsRefusedBeforeAnyUnitRuns) {
  const std::string spec = *dir_ + "/wrong-family.yaml";
  std::ofstream(spec) << "name: wrong\nseed: 3\noutput: " << *dir_ << "/wrong\n"
                      << "models:\n  - {name: ts, torchscript: " << *dir_
                      << "/early_exit.pt, family: skip_gate, dataset: fashion-mnist}\n"
                      << "datasets: [{name: fashion-mnist, split: test, range: [0, 8]}]\n"
                      << "attacks:\n  - name: clean\n";
  const std::string log = *dir_ + "/wrong.log";
  EXPECT_EQ(Shell(Bin() + " plan " + spec, log), 2) << Slurp(log);
  const std::string text = Slurp(log);
  EXPECT_NE(text.find("wrong-family.yaml:5: model 'ts' torchscript '"), std::string::npos) << text;
  EXPECT_NE(text.find("declares effrobust_family 'early_exit', not 'skip_gate'"), std::string::npos)
      << text;
  EXPECT_FALSE(fs::exists(*dir_ + "/wrong"));
}

// A CIFAR-10 directory in the binary format: test_batch.bin with
// `test_records` records and each data_batch_N.bin with `train_records`;
// label i % 10, pixels from a fixed byte pattern.
void WriteTinyCifar10(const std::string& dir, int test_records, int train_records) {
  fs::create_directories(dir);
  auto write = [](const std::string& path, int records, int salt) {
    std::string bytes;
    for (int i = 0; i < records; ++i) {
      bytes.push_back(static_cast<char>(i % 10));
      for (int p = 0; p < 3072; ++p) {
        bytes.push_back(static_cast<char>((p * 7 + i * 31 + salt) % 256));
      }
    }
    std::ofstream(path, std::ios::binary) << bytes;
  };
  write(dir + "/test_batch.bin", test_records, 0);
  for (int b = 1; b <= 5; ++b) {
    write(dir + "/data_batch_" + std::to_string(b) + ".bin", train_records, b);
  }
}

TEST_F(TorchScriptRunTest, AScriptedRgbVictimRunsOnCifar10FromItsPath) {
  const std::string data = *dir_ + "/cifar-10-batches-bin";
  WriteTinyCifar10(data, 200, 40);
  const std::string out = *dir_ + "/cifar-run";
  const std::string spec = *dir_ + "/cifar.yaml";
  std::ofstream(spec) << "name: cifar\nseed: 3\noutput: " << out << "\n"
                      << "models:\n  - {name: ts-rgb, torchscript: " << *dir_
                      << "/ee_rgb32.pt, family: early_exit, dataset: cifar10}\n"
                      << "datasets:\n  - {name: cifar10, path: " << data
                      << ", split: test, range: [100, 108], shard_size: 4}\n"
                      << "attacks:\n  - name: clean\n"
                      << "  - {name: deepsloth, params: {iterations: 2}}\n"
                      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 4}\n";
  const std::string log = *dir_ + "/cifar.log";
  ASSERT_EQ(Shell(Mpirun(2) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  auto units = index->Units();
  ASSERT_EQ(units.size(), 4u);  // 2 shards x (clean, deepsloth)
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    EXPECT_EQ(u.plan.dataset, "cifar10");
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_EQ(rows.rows(), 4u);
    for (double v : rows.Get("flops_clean_rad5").reals) EXPECT_TRUE(std::isfinite(v) && v > 0);
    EXPECT_EQ(rows.Get("exit_clean_rad5").size(), 4u);
    EXPECT_EQ(rows.Get("exit_adv_rad5").size(), 4u);
  }

  // The range must lie within the files' images, checked before the run.
  const std::string past = *dir_ + "/cifar-past.yaml";
  std::string text = Slurp(spec);
  text.replace(text.find("range: [100, 108]"), 17, "range: [100, 300]");
  std::ofstream(past) << text;
  EXPECT_EQ(Shell(Bin() + " plan " + past, log), 2) << Slurp(log);
  EXPECT_NE(Slurp(log).find("range ends at 300, but the files in '" + data + "' hold 200 images"),
            std::string::npos)
      << Slurp(log);
}

TEST_F(TorchScriptRunTest, ABuiltInModelOrAFashionMnistVictimOnCifar10IsRefused) {
  const std::string data = *dir_ + "/cifar-refused";
  WriteTinyCifar10(data, 20, 1);
  const std::string spec = *dir_ + "/cifar-builtin.yaml";
  std::ofstream(spec) << "name: c\nseed: 3\noutput: " << *dir_ << "/cifar-builtin\n"
                      << "models:\n  - {name: builtin, path: " << *dir_ << "/tiny.pt}\n"
                      << "datasets:\n  - {name: cifar10, path: " << data << ", range: [0, 8]}\n"
                      << "attacks:\n  - name: clean\n";
  const std::string log = *dir_ + "/cifar-builtin.log";
  EXPECT_EQ(Shell(Bin() + " plan " + spec, log), 2) << Slurp(log);
  std::string text = Slurp(log);
  EXPECT_NE(text.find("dataset 'cifar10' does not match model 'builtin'"), std::string::npos)
      << text;
  EXPECT_NE(text.find("trained on 'fashion-mnist'"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(*dir_ + "/cifar-builtin"));

  const std::string gray = *dir_ + "/cifar-gray.yaml";
  std::ofstream(gray) << "name: c\nseed: 3\noutput: " << *dir_ << "/cifar-gray\n"
                      << "models:\n  - {name: ts, torchscript: " << *dir_
                      << "/early_exit.pt, family: early_exit, dataset: cifar10}\n"
                      << "datasets:\n  - {name: cifar10, path: " << data << ", range: [0, 8]}\n"
                      << "attacks:\n  - name: clean\n";
  EXPECT_EQ(Shell(Bin() + " plan " + gray, log), 2) << Slurp(log);
  text = Slurp(log);
  EXPECT_NE(text.find("declares 1x28x28 inputs and 10 classes, but dataset 'cifar10' has 3x32x32 "
                      "images and 10 classes"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace effrobust
