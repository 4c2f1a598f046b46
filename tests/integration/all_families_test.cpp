// Issue 9's "done when", end to end: ONE experiment YAML holds a built-in
// model and a TorchScript one of every family effrobust attacks — a
// multi-exit CNN beside scripted early_exit, skip_gate and adaptive_token
// victims (tests/support/make_torchscript_victims.py), the built-in
// captioner beside a scripted one (make_torchscript_captioner.py), and the
// built-in detector beside a scripted one (make_torchscript_detector.py),
// all scripted at test time with Debian's python3-torch. The real binary
// runs it under mpirun: every unit is done, each model gets its clean unit
// and its family's attack, and each attacked unit's rows carry the
// family's cost columns.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "data/fashion_mnist.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/builtin_fixtures.h"
#include "tests/support/process.h"
#include "tests/support/scratch_suite.h"
#include "tests/support/scripted_captioner.h"
#include "tests/support/tiny_model.h"

namespace effrobust {
namespace {

using test::Mpirun;
using test::Shell;
using test::Slurp;

namespace fs = std::filesystem;

constexpr int64_t kMaxLen = 20;  // the built-in captioner's and NICGSlowDown's decoding limit

class AllFamiliesTest : public test::ScratchSuite<AllFamiliesTest> {
 protected:
  static void SetUpTestSuite() {
    if (!test::HavePythonTorch() ||
        !fs::exists(DefaultFashionMnistDir() + "/train-images-idx3-ubyte.gz")) {
      return;
    }
    MakeScratch("all-families");
    make_logs_ = {"d1/make.log", "cap/make.log", "det/make.log"};
    for (const char* sub : {"d1", "cap", "det"}) fs::create_directories(*dir_ + "/" + sub);
    const std::string fmnist = DefaultFashionMnistDir();
    made_ = test::RunModelScript("make_torchscript_victims.py", *dir_ + "/d1", fmnist,
                                 *dir_ + "/d1/make.log") &&
            test::MakeScriptedCaptioners(*dir_ + "/cap", 400) &&
            test::RunModelScript("make_torchscript_detector.py", *dir_ + "/det", fmnist,
                                 *dir_ + "/det/make.log");
    WriteTinyModel(*dir_ + "/sdn.pt", 3);
    test::SaveTinyCaptioner(*dir_ + "/captioner.pt", kMaxLen);
    test::SaveTinyDetector(*dir_ + "/detector.pt");
  }
};

TEST_F(AllFamiliesTest, OneYamlRunsABuiltInAndAScriptedModelOfEveryFamilySideBySide) {
  const std::string& d = *dir_;
  const std::string out = d + "/run";
  const std::string spec = d + "/all.yaml";
  std::ofstream(spec) << "name: all-families\nseed: 3\noutput: " << out << "\n"
                      << "models:\n"
                      << "  - {name: builtin-sdn, path: " << d << "/sdn.pt}\n"
                      << "  - {name: ts-sdn, torchscript: " << d
                      << "/d1/early_exit.pt, family: early_exit, dataset: fashion-mnist}\n"
                      << "  - {name: ts-skip, torchscript: " << d
                      << "/d1/skip_gate.pt, family: skip_gate, dataset: fashion-mnist}\n"
                      << "  - {name: ts-avit, torchscript: " << d
                      << "/d1/adaptive_token.pt, family: adaptive_token, dataset: fashion-mnist}\n"
                      << "  - {name: builtin-cap, path: " << d << "/captioner.pt}\n"
                      << "  - {name: ts-cap, torchscript: " << d
                      << "/cap/captioner.pt, family: captioning, dataset: fashion-mnist-scenes}\n"
                      << "  - {name: builtin-det, path: " << d << "/detector.pt}\n"
                      << "  - {name: ts-det, torchscript: " << d
                      << "/det/detector.pt, family: detection, dataset: fashion-mnist-sequences}\n"
                      << "datasets:\n"
                      << "  - {name: fashion-mnist, split: test, range: [0, 4]}\n"
                      << "  - {name: fashion-mnist-scenes, split: test, range: [0, 2]}\n"
                      << "  - {name: fashion-mnist-sequences, split: test, range: [0, 1]}\n"
                      << "attacks:\n"
                      << "  - name: clean\n"
                      << "  - {name: deepsloth, params: {iterations: 2}}\n"
                      << "  - {name: ilfo, params: {iterations: 2}}\n"
                      << "  - {name: slowformer, params: {mode: per_sample, iterations: 2}}\n"
                      << "  - {name: nicgslowdown, params: {budget: 20, iterations: 2, max_len: "
                      << kMaxLen << "}}\n"
                      << "  - {name: overload, params: {iterations: 2}}\n"
                      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 4}\n";
  const std::string log = d + "/run.log";
  ASSERT_EQ(Shell(Mpirun(2) + std::string(EFFROBUST_BINARY) + " run " + spec, log), 0)
      << Slurp(log);

  // Each model's attack and the cost column its rows must carry.
  struct Expect {
    std::string attack;
    std::string cost;
  };
  const std::map<std::string, Expect> expect = {
      {"builtin-sdn", {"deepsloth", "flops_adv_rad5"}},
      {"ts-sdn", {"deepsloth", "flops_adv_rad5"}},
      {"ts-skip", {"ilfo", "flops_adv"}},
      {"ts-avit", {"slowformer", "flops_adv"}},
      {"builtin-cap", {"nicgslowdown", "steps_adv"}},
      {"ts-cap", {"nicgslowdown", "steps_adv"}},
      {"builtin-det", {"overload", "candidates_adv"}},
      {"ts-det", {"overload", "candidates_adv"}},
  };
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  const auto units = index->Units();
  ASSERT_EQ(units.size(), 2 * expect.size());
  std::map<std::string, std::map<std::string, int>> attacks_of;
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    ASSERT_TRUE(expect.count(u.plan.model)) << u.plan.model;
    ++attacks_of[u.plan.model][u.plan.attack];
    const Expect& e = expect.at(u.plan.model);
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_GT(rows.rows(), 0u) << u.plan.unit_id;
    const Column& cost = rows.Get(e.cost);
    ASSERT_EQ(cost.size(), rows.rows()) << u.plan.model << " " << e.cost;
    for (size_t i = 0; i < cost.size(); ++i) {
      const double v = cost.is_int ? static_cast<double>(cost.ints[i]) : cost.reals[i];
      EXPECT_TRUE(std::isfinite(v) && v >= 0) << u.plan.model << " " << e.cost << " " << v;
    }
  }
  for (const auto& [model, e] : expect) {
    EXPECT_EQ(attacks_of[model]["clean"], 1) << model;
    EXPECT_EQ(attacks_of[model][e.attack], 1) << model;
  }
}

}  // namespace
}  // namespace effrobust
