// D1 in full, end to end: the three D1 families (multi-exit CNN, gated skip
// network, adaptive-token ViT) trained by `effrobust train --arch` in
// seconds, experiments/d1.yaml planned as written, and a reduced D1
// experiment run under `mpirun -np 3`: every unit done, every family's cost
// columns present, summaries reproduced from the shard rows, the tables
// show each family's own metric.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "evaluation/d1_summary.h"
#include "evaluation/defense_views.h"
#include "results/index.h"
#include "results/shard.h"
#include "tests/support/process.h"

namespace effrobust {
namespace {

using test::Mpirun;
using test::Shell;
using test::Slurp;

namespace fs = std::filesystem;

std::string Bin() { return EFFROBUST_BINARY; }

class D1Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/effrobust-d1-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    for (const auto& [arch, file] : Models()) {
      const std::string log = *dir_ + "/train-" + file + ".log";
      const int rc = Shell(Bin() + " train --arch " + arch + " --out " + *dir_ + "/" + file +
                               " --epochs 1 --max-train 3000 --seed 4",
                           log);
      ASSERT_EQ(rc, 0) << Slurp(log);
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // (arch and options, file) of the D1 victims, under the names experiments/d1.yaml uses.
  static std::vector<std::pair<std::string, std::string>> Models() {
    return {{"multi_exit_cnn", "sdn-fmnist.pt"},
            {"skip_net", "skipnet-fmnist.pt"},
            {"adaptive_vit", "avit-fmnist.pt"},
            {"adaptive_vit --patch 7 --name avit7-fmnist", "avit7-fmnist.pt"}};
  }

  static std::string* dir_;
};

std::string* D1Test::dir_ = nullptr;

TEST_F(D1Test, D1YamlPlansEveryFamilyWithItsOwnAttacksOnly) {
  std::string text = Slurp(std::string(getenv("EFFROBUST_SOURCE_DIR")) + "/experiments/d1.yaml");
  text = std::regex_replace(text, std::regex("runs/models/"), *dir_ + "/");
  text = std::regex_replace(text, std::regex("output: runs/d1"), "output: " + *dir_ + "/d1-plan");
  const std::string spec = *dir_ + "/d1.yaml";
  std::ofstream(spec) << text;
  const std::string log = *dir_ + "/plan.log";
  ASSERT_EQ(Shell(Bin() + " plan " + spec, log), 0) << Slurp(log);
  const std::string plan = Slurp(log);
  // (model, attack) -> units, from the plan's summary lines.
  std::map<std::string, int> units;
  std::istringstream lines(plan);
  std::string line;
  std::regex row(R"(^(\S+-fmnist)\s+(\S+)\s+(\d+)$)");
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, row)) units[m[1].str() + "/" + m[2].str()] = std::stoi(m[3].str());
  }
  const std::map<std::string, std::set<std::string>> expected = {
      {"sdn-fmnist", {"clean", "pgd", "deepsloth", "deepsloth_universal", "sponge"}},
      {"skipnet-fmnist", {"clean", "pgd", "ilfo", "gradmdm", "sponge"}},
      {"avit-fmnist", {"clean", "pgd", "slowformer", "sponge"}},
      {"avit7-fmnist", {"clean", "pgd", "slowformer", "sponge"}}};
  size_t pairs = 0;
  for (const auto& [model, attacks] : expected) {
    for (const auto& attack : attacks) {
      // 2 shards; SlowFormer runs in both modes (universal, per_sample).
      const int per_shard = attack == "slowformer" ? 2 : 1;
      EXPECT_EQ(units[model + "/" + attack], 2 * per_shard) << model << " " << attack << "\n" << plan;
      ++pairs;
    }
  }
  EXPECT_EQ(units.size(), pairs) << plan;
}

TEST_F(D1Test, MpiRunMeasuresEveryFamilyAndTablesShowTheirMetrics) {
  const std::string out = *dir_ + "/d1-run";
  const std::string spec = *dir_ + "/d1-small.yaml";
  std::ofstream(spec)
      << "name: d1-small\nseed: 9\noutput: " << out << "\n"
      << "models:\n"
      << "  - {name: sdn-fmnist, path: " << *dir_ << "/sdn-fmnist.pt}\n"
      << "  - {name: skipnet-fmnist, path: " << *dir_ << "/skipnet-fmnist.pt}\n"
      << "  - {name: avit-fmnist, path: " << *dir_ << "/avit-fmnist.pt}\n"
      << "datasets: [{name: fashion-mnist, split: test, range: [0, 24], shard_size: 12}]\n"
      << "attacks:\n"
      << "  - name: clean\n"
      << "  - {name: pgd, params: {iterations: 2}}\n"
      << "  - {name: deepsloth, params: {iterations: 2}}\n"
      << "  - {name: deepsloth_universal, params: {iterations: 2, fit_samples: 32}}\n"
      << "  - {name: ilfo, params: {iterations: 3}}\n"
      << "  - {name: gradmdm, params: {iterations: 3}}\n"
      << "  - {name: slowformer, params: {fit_samples: 32, epochs: 1, batch: 32}}\n"
      << "  - {name: sponge, params: {iterations: 2}}\n"
      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 12}\n";
  const std::string log = *dir_ + "/run.log";
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  auto units = index->Units();
  ASSERT_EQ(units.size(), 2u * (5 + 5 + 4));
  const std::map<std::string, std::string> metric_of = {
      {"sdn-fmnist", "exit"}, {"skipnet-fmnist", "blocks_run"}, {"avit-fmnist", "token_depth"}};
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end});
    ASSERT_EQ(rows.rows(), 12u);
    const std::string metric = metric_of.at(u.plan.model);
    const bool early = metric == "exit";
    D1Layout layout;
    layout.metric = metric;
    layout.points = early ? std::vector<std::string>{"rad15", "rad5"} : std::vector<std::string>{""};
    layout.full_flops = u.metrics.at("full_flops");
    if (early) {
      // The early-exit layout needs the model's per-exit FLOPs: take them
      // from the registered metadata.
      std::vector<double> exit_flops;
      for (const auto& m : index->Models()) {
        if (m.name != "sdn-fmnist") continue;
        std::smatch f;
        ASSERT_TRUE(std::regex_search(m.metadata_json, f, std::regex(R"("exit_flops": \[([^\]]*)\])")));
        std::istringstream list(f[1].str());
        std::string v;
        while (std::getline(list, v, ',')) exit_flops.push_back(std::stod(v));
      }
      layout.exit_flops = exit_flops;
    }
    const std::string s = early ? "_rad5" : "";
    for (std::string c : {"flops_clean", "flops_adv", "energy_clean_pj", "energy_adv_pj",
                          "density_clean", "density_adv", "latency_clean_ms"}) {
      const auto& col = rows.Get(c + s);
      for (double v : col.reals) ASSERT_TRUE(std::isfinite(v) && v > 0) << u.plan.model << " " << c;
    }
    auto recomputed = SummarizeD1(rows, layout);
    for (const auto& [name, value] : recomputed) {
      if (std::isnan(value)) continue;
      ASSERT_TRUE(u.metrics.count(name)) << u.plan.model << " " << name;
      EXPECT_DOUBLE_EQ(u.metrics.at(name), value) << u.plan.unit_id << " " << name;
    }
    // Clean inputs: the attack changes nothing.
    if (u.plan.attack == "clean") {
      EXPECT_DOUBLE_EQ(u.metrics.at("flops_ratio" + s), 1.0) << u.plan.model;
    }
  }
  ASSERT_EQ(Shell(Bin() + " tables " + out, log), 0) << Slurp(log);
  const std::string tables = Slurp(log);
  for (std::string want : {"| blocks_run", "| token_depth", "| exit", "| ilfo", "| gradmdm",
                           "| slowformer", "| sponge", "| deepsloth_universal"}) {
    EXPECT_NE(tables.find(want), std::string::npos) << want << "\n" << tables;
  }
}

// Defenses (issue 7 §1): every attack unit measures its clean and
// adversarial inputs undefended and through each defense (attack once); an
// adaptive defense adds units attacked through it with BPDA; every view's
// metrics are reproduced from its prefixed columns.
TEST_F(D1Test, MpiRunMeasuresEveryDefenseViewOfTheSameAdversarialInputs) {
  const std::string out = *dir_ + "/d1-defenses";
  const std::string spec = *dir_ + "/d1-defenses.yaml";
  std::ofstream(spec)
      << "name: d1-defenses\nseed: 9\noutput: " << out << "\n"
      << "models: [{name: sdn-fmnist, path: " << *dir_ << "/sdn-fmnist.pt}]\n"
      << "datasets: [{name: fashion-mnist, split: test, range: [0, 24], shard_size: 12}]\n"
      << "attacks:\n  - name: clean\n  - {name: deepsloth, params: {iterations: 3}}\n"
      << "defenses:\n  - none\n  - {name: jpeg, params: {quality: 50}, adaptive: true}\n"
      << "  - {name: median, params: {k: 3}}\n  - {name: exit_cap, params: {k: 2}}\n"
      << "  - {name: input_detector, params: {test_share: 0.5}}\n"
      << "measure: {latency_repeats: 1, latency_warmup: 0, batch_size: 12, "
         "store_adversarial: true}\n";
  const std::string log = *dir_ + "/defenses.log";
  ASSERT_EQ(Shell(Mpirun(3) + Bin() + " run " + spec, log), 0) << Slurp(log);
  auto index = OpenSqliteIndexReadOnly(out + "/index.sqlite");
  auto units = index->Units();
  // 2 shards x (clean, deepsloth, deepsloth through jpeg).
  ASSERT_EQ(units.size(), 6u);
  std::vector<double> exit_flops;
  for (const auto& m : index->Models()) {
    std::smatch f;
    ASSERT_TRUE(std::regex_search(m.metadata_json, f, std::regex(R"("exit_flops": \[([^\]]*)\])")));
    std::istringstream list(f[1].str());
    std::string v;
    while (std::getline(list, v, ',')) exit_flops.push_back(std::stod(v));
  }
  const D1Layout layout = EarlyExitLayout(exit_flops);
  std::map<std::string, RowBatch> adversarial;  // "<begin>/<adaptive?>" -> rows with tensors
  int adaptive_units = 0;
  for (const auto& u : units) {
    ASSERT_EQ(u.status, "done") << u.plan.unit_id << " " << u.error;
    RowBatch rows = ReadShardRows(out + "/" + u.shard_file, {u.row_begin, u.row_end}, true);
    ASSERT_EQ(rows.rows(), 12u);
    const bool adaptive = u.plan.spec_json.find("\"adaptive_defense\":\"jpeg\"") != std::string::npos;
    adaptive_units += adaptive;
    const std::vector<std::string> views =
        adaptive ? std::vector<std::string>{"none", "jpeg"}
                 : std::vector<std::string>{"none", "jpeg", "median", "exit_cap"};
    EXPECT_EQ(rows.Has("median.flops_adv_rad5"), !adaptive) << u.plan.spec_json;
    for (const std::string& d : views) {
      RowBatch view = ExtractView(rows, d, {"sample_index", "label"});
      ASSERT_FALSE(view.columns().empty()) << d;
      for (const auto& [name, value] : SummarizeD1(view, layout)) {
        if (std::isnan(value)) continue;
        const std::string key = DefenseViewPrefix(d) + name;
        ASSERT_TRUE(u.metrics.count(key)) << key;
        EXPECT_DOUBLE_EQ(u.metrics.at(key), value) << u.plan.unit_id << " " << key;
      }
      if (u.plan.attack == "clean") {
        EXPECT_DOUBLE_EQ(u.metrics.at(DefenseViewPrefix(d) + "flops_ratio_rad5"), 1.0) << d;
      }
    }
    // Transforms take time and change the inputs; the cap changes neither.
    for (double ms : rows.Get("jpeg.defense_adv_ms").reals) EXPECT_GT(ms, 0);
    if (u.plan.attack != "clean") EXPECT_NE(rows.Get("jpeg.l2").reals, rows.Get("l2").reals);
    if (!adaptive) {
      EXPECT_EQ(rows.Get("exit_cap.l2").reals, rows.Get("l2").reals);
      EXPECT_TRUE(std::isnan(rows.Get("exit_cap.defense_clean_ms").reals[0]));
      for (int64_t e : rows.Get("exit_cap.exit_adv_rad5").ints) EXPECT_LE(e, 1);  // k = 2
      EXPECT_LE(u.metrics.at("exit_cap.mean_flops_adv_rad5"), exit_flops[1] * (1 + 1e-9));
    }
    // The input-validation detector: trained and tested on attack units.
    if (!adaptive) {
      const auto& test = rows.Get("input_detector.test").ints;
      const auto& p = rows.Get("input_detector.p_adv_adv").reals;
      for (size_t i = 0; i < test.size(); ++i) EXPECT_EQ(std::isnan(p[i]), test[i] == 0) << i;
      if (u.plan.attack == "deepsloth") {
        for (const char* m : {"auc_plain", "mean_rate_jpeg", "clean_rate_smoothed", "ms_per_input"}) {
          const double v = u.metrics.at(std::string("input_detector.") + m);
          EXPECT_TRUE(v >= 0 && (v <= 1 || std::string(m) == "ms_per_input")) << m << " " << v;
        }
      } else {
        EXPECT_FALSE(u.metrics.count("input_detector.auc_plain"));  // no adversarial twins
      }
    }
    if (u.plan.attack == "deepsloth") {
      adversarial[std::to_string(u.plan.sample_begin) + (adaptive ? "/adaptive" : "/plain")] =
          std::move(rows);
    }
  }
  EXPECT_EQ(adaptive_units, 2);
  // The adaptive attack optimised through the transform: other examples.
  for (const char* begin : {"0", "12"}) {
    ASSERT_TRUE(adversarial.count(std::string(begin) + "/plain"));
    ASSERT_TRUE(adversarial.count(std::string(begin) + "/adaptive"));
    EXPECT_NE(adversarial[std::string(begin) + "/plain"].tensor().data,
              adversarial[std::string(begin) + "/adaptive"].tensor().data);
  }
}

}  // namespace
}  // namespace effrobust
