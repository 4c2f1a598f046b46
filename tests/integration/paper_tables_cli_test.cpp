// End to end: `effrobust tables RUN_DIR --paper` on an index written in the
// fixture (no run, no torch): an early-exit victim and its adversarially
// trained twin, attacked undefended, through block JPEG and adaptively.
// Checks the four headings, the after-AT, defended and adaptive rows, the
// defense note, each format, and that bad input still exits 2.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "results/index.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

using test::Shell;
using test::Slurp;

std::string Bin() { return EFFROBUST_BINARY; }

std::map<std::string, double> D1(double acc_clean, double acc_adv) {
  return {{"samples", 10},
          {"dyn_clean_acc_rad5", acc_clean},
          {"dyn_adv_acc_rad5", acc_adv},
          {"efficacy_clean_rad5", 0.8},
          {"efficacy_adv_rad5", 0.3}};
}

class PaperTablesCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto index = OpenSqliteIndex(dir_.File("index.sqlite"));
    RunRecord run;
    run.name = "paper";
    run.status = "running";
    const int64_t run_id = index->BeginRun(run);
    ModelRecord at{"sdn-at", "runs/models/sdn-at.pt", "multi_exit_cnn", "fashion-mnist",
                   R"({"adversarial":"pgd linf eps=0.03 steps=10","exit_flops":[1,2]})"};
    ModelRecord standard{"sdn", "runs/models/sdn.pt", "multi_exit_cnn", "fashion-mnist",
                         R"({"exit_flops":[1,2]})"};
    index->RegisterModel(at);
    index->RegisterModel(standard);
    const std::string defended = R"({"defense.0":"block_jpeg","defense.0.quality":90})";
    const std::string adaptive =
        R"({"adaptive_defense":"block_jpeg","defense.0":"block_jpeg","defense.0.quality":90})";
    std::vector<std::pair<UnitPlan, std::map<std::string, double>>> units;
    int n = 0;
    for (const std::string model : {"sdn", "sdn-at"}) {
      for (const std::string& spec : {defended, adaptive}) {
        UnitPlan p;
        p.unit_id = "unit" + std::to_string(n++);
        p.model = model;
        p.dataset = "fashion-mnist";
        p.split = "test";
        p.attack = "deepsloth";
        p.params_json = R"({"eps":0.03,"norm":"linf"})";
        p.spec_json = spec;
        std::map<std::string, double> m = D1(0.9, model == "sdn" ? 0.2 : 0.7);
        for (const auto& [k, v] : D1(0.85, 0.6)) m["block_jpeg." + k] = v;
        units.push_back({p, m});
      }
    }
    std::vector<UnitPlan> plans;
    for (const auto& u : units) plans.push_back(u.first);
    index->PlanUnits(run_id, plans);
    for (const auto& [plan, metrics] : units) {
      UnitCompletion done;
      done.unit_id = plan.unit_id;
      done.run_id = run_id;
      done.metrics = metrics;
      index->CommitUnit(done);
    }
    index->EndRun(run_id, "finished", 1);
  }

  // `effrobust tables DIR <args>`: exit code; output in *out.
  int Tables(const std::string& args, std::string* out) {
    const std::string log = dir_.File("tables.log");
    const int rc = Shell(Bin() + " tables " + dir_.path() + " " + args, log);
    *out = Slurp(log);
    return rc;
  }

  TempDir dir_{"paper_tables_cli"};
};

TEST_F(PaperTablesCliTest, PrintsTheFourTablesWithDefendedAdaptiveAndAfterAtRows) {
  std::string out;
  ASSERT_EQ(Tables("--paper", &out), 0) << out;
  for (const std::string heading : {"### Table 4", "### D1", "### D2", "### D3"}) {
    EXPECT_NE(out.find(heading), std::string::npos) << heading << "\n" << out;
  }
  EXPECT_NE(out.find("after AT (pgd linf eps=0.03 steps=10)"), std::string::npos) << out;
  EXPECT_NE(out.find("attack + JPEG (adaptive, BPDA)"), std::string::npos) << out;
  EXPECT_NE(out.find("JPEG = block_jpeg (quality=90)."), std::string::npos) << out;
  EXPECT_NE(out.find("No unit of this run has D3 metrics"), std::string::npos) << out;
}

TEST_F(PaperTablesCliTest, RendersCsvAndLatex) {
  std::string csv, tex;
  ASSERT_EQ(Tables("--paper --format csv", &csv), 0) << csv;
  EXPECT_NE(csv.find("# D1"), std::string::npos) << csv;
  EXPECT_NE(csv.find("sdn,standard,deepsloth,eps=0.03,linf,attack + JPEG,"), std::string::npos)
      << csv;
  ASSERT_EQ(Tables("--format latex --paper", &tex), 0) << tex;
  EXPECT_NE(tex.find("% D1"), std::string::npos) << tex;
  EXPECT_NE(tex.find("\\begin{tabular}"), std::string::npos) << tex;
}

TEST_F(PaperTablesCliTest, BadInputExitsTwo) {
  std::string out;
  EXPECT_EQ(Tables("--paper --format yaml", &out), 2) << out;
  EXPECT_NE(out.find("effrobust: "), std::string::npos) << out;
  EXPECT_EQ(Tables("--paper --help", &out), 0);
  EXPECT_NE(out.find("--paper"), std::string::npos) << out;
  const std::string log = dir_.File("none.log");
  EXPECT_EQ(Shell(Bin() + " tables " + dir_.File("no-run-here") + " --paper", log), 2);
  EXPECT_NE(Slurp(log).find("has no readable index"), std::string::npos) << Slurp(log);
}

}  // namespace
}  // namespace effrobust
