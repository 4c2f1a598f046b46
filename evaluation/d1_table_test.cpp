#include "evaluation/d1_table.h"

#include <gtest/gtest.h>

namespace effrobust {
namespace {

UnitRecord Unit(const std::string& model, const std::string& attack, double samples,
                std::map<std::string, double> metrics) {
  UnitRecord u;
  u.plan.model = model;
  u.plan.dataset = "fashion-mnist";
  u.plan.split = "test";
  u.plan.attack = attack;
  u.plan.params_json = "{}";
  u.status = "done";
  metrics["samples"] = samples;
  u.metrics = std::move(metrics);
  return u;
}

std::string Cell(const QueryResult& t, size_t row, const std::string& column) {
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c] == column) return t.rows.at(row).at(c);
  }
  return "no column " + column;
}

TEST(D1CostTable, PoolsShardsByModelAttackAndPointWithFamilyMetric) {
  std::map<std::string, double> a = {{"mean_blocks_run_clean", 2}, {"mean_blocks_run_adv", 6},
                                     {"mean_flops_clean", 60},     {"mean_flops_adv", 100},
                                     {"full_flops", 100},          {"mean_energy_clean_pj", 10},
                                     {"mean_energy_adv_pj", 30},   {"clean_acc", 1}};
  std::map<std::string, double> b = a;
  b["mean_blocks_run_clean"] = 4;  // second shard: 3x the samples
  b["mean_flops_clean"] = 80;
  b["clean_acc"] = 0.5;
  std::map<std::string, double> early = {{"mean_exit_clean_rad5", 1}, {"mean_exit_adv_rad5", 3},
                                         {"mean_flops_clean_rad5", 50}, {"mean_flops_adv_rad5", 75},
                                         {"full_flops", 100}};
  auto t = D1CostTable({Unit("skip", "ilfo", 1, a), Unit("skip", "ilfo", 3, b),
                        Unit("sdn", "deepsloth", 2, early)});
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(Cell(t, 0, "metric"), "blocks_run");
  EXPECT_EQ(Cell(t, 0, "point"), "-");
  EXPECT_EQ(Cell(t, 0, "samples"), "4");
  EXPECT_EQ(Cell(t, 0, "metric_clean"), "3.5");  // (2*1 + 4*3) / 4
  EXPECT_EQ(Cell(t, 0, "clean_acc"), "0.625");
  // Pooled FLOPs: clean 75, adv 100, full 100 -> all saved FLOPs recovered.
  EXPECT_EQ(Cell(t, 0, "recovered_flops"), "1");
  EXPECT_EQ(Cell(t, 0, "energy_ratio"), "3");
  EXPECT_EQ(Cell(t, 1, "metric"), "exit");
  EXPECT_EQ(Cell(t, 1, "point"), "rad5");
  EXPECT_EQ(Cell(t, 1, "recovered_flops"), "0.5");
  EXPECT_EQ(Cell(t, 1, "metric_change"), "2");
  // The early-exit efficacy table ignores units without efficacy metrics.
  EXPECT_TRUE(D1Table({Unit("skip", "ilfo", 1, a)}).rows.empty());
}

TEST(D1CostTable, AdaptiveUnitsGetRowsOfTheirOwn) {
  std::map<std::string, double> m = {{"mean_exit_clean_rad5", 1}, {"mean_exit_adv_rad5", 3},
                                     {"mean_flops_clean_rad5", 50}, {"mean_flops_adv_rad5", 75},
                                     {"full_flops", 100}};
  UnitRecord plain = Unit("sdn", "deepsloth", 2, m);
  UnitRecord adaptive = Unit("sdn", "deepsloth", 2, m);
  adaptive.plan.spec_json = R"({"adaptive_defense":"median","attack":"deepsloth"})";
  auto t = D1CostTable({plain, adaptive});
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(Cell(t, 0, "attack"), "deepsloth");
  EXPECT_EQ(Cell(t, 0, "samples"), "2");
  EXPECT_EQ(Cell(t, 1, "attack"), "deepsloth (through median, BPDA)");
}

}  // namespace
}  // namespace effrobust
