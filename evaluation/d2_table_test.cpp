#include "evaluation/d2_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "evaluation/d2_summary.h"
#include "evaluation/table_cells.h"
#include "results/render.h"

namespace effrobust {
namespace {

UnitRecord Unit(const std::string& model, const std::string& attack, const std::string& params,
                double samples, std::map<std::string, double> metrics) {
  UnitRecord u;
  u.plan.model = model;
  u.plan.dataset = "fashion-mnist-scenes";
  u.plan.split = "test";
  u.plan.attack = attack;
  u.plan.params_json = params;
  u.status = "done";
  metrics["samples"] = samples;
  u.metrics = std::move(metrics);
  return u;
}

std::map<std::string, double> D2Metrics(double iloops_mean, double iloops_max, double steps_adv,
                                        const BleuStats& bleu) {
  std::map<std::string, double> m = {
      {"mean_iloops", iloops_mean},       {"max_iloops", iloops_max},
      {"mean_ilatency", iloops_mean / 2}, {"max_ilatency", iloops_max / 2},
      {"mean_steps_clean", 10},           {"mean_steps_adv", steps_adv}};
  AddBleuMetrics("clean", bleu, &m);
  AddBleuMetrics("adv", bleu, &m);
  return m;
}

// The cells of each line of a markdown table, trimmed.
std::vector<std::vector<std::string>> MarkdownCells(const std::string& md) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(md);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream parts(line.substr(1));
    for (std::string cell; std::getline(parts, cell, '|');) {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
    }
    lines.push_back(cells);
  }
  return lines;
}

std::string Cell(const QueryResult& t, size_t row, const std::string& column) {
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c] == column) return t.rows.at(row).at(c);
  }
  return "no column " + column;
}

TEST(D2Table, PoolsShardsPerModelAndNormLikeThePapersTable) {
  const std::string l2 = R"({"budget":1,"norm":"l2"})";
  const std::string linf = R"({"budget":0.03,"norm":"linf"})";
  const BleuStats exact =
      CorpusBleuStats({{"a", "bag", "and", "a", "coat"}}, {{{"a", "bag", "and", "a", "coat"}}});
  const BleuStats none = CorpusBleuStats({{"two", "shirts"}}, {{{"a", "bag"}}});
  std::vector<UnitRecord> units = {
      Unit("captioner-lstm", "nicgslowdown", l2, 10, D2Metrics(1, 4, 20, exact)),
      Unit("captioner-lstm", "nicgslowdown", linf, 10, D2Metrics(0.5, 1, 15, exact)),
      Unit("captioner-lstm", "nicgslowdown", l2, 30, D2Metrics(3, 6, 40, none)),
      Unit("sdn-fmnist", "deepsloth", "{}", 10, {{"mean_flops_clean", 1}}),  // D1: left out
  };
  units.push_back(units.front());
  units.back().status = "failed";  // not counted
  const QueryResult t = D2Table(units);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(Cell(t, 0, "params"), "budget=1 norm=l2");
  EXPECT_EQ(Cell(t, 0, "samples"), "40");
  EXPECT_EQ(Cell(t, 0, "iloops_mean"), "2.5");  // (10 * 1 + 30 * 3) / 40
  EXPECT_EQ(Cell(t, 0, "iloops_max"), "6");
  EXPECT_EQ(Cell(t, 0, "ilatency_mean"), "1.25");
  EXPECT_EQ(Cell(t, 0, "steps_adv"), "35");  // (10 * 20 + 30 * 40) / 40
  // One corpus over both shards: the exact caption plus an unmatched one.
  BleuStats pooled;
  pooled.Add(exact);
  pooled.Add(none);
  EXPECT_EQ(Cell(t, 0, "bleu4_adv"), FormatCell(pooled.Score()));
  EXPECT_EQ(Cell(t, 1, "params"), "budget=0.03 norm=linf");
  EXPECT_EQ(Cell(t, 1, "bleu4_clean"), "1");
  // Rendered as the `tables` command prints it: header and rows as cells.
  const std::vector<std::vector<std::string>> md =
      MarkdownCells(RenderTable(t, TableFormat::kMarkdown));
  ASSERT_EQ(md.size(), 4u);  // header, rule, two rows
  EXPECT_EQ(md[0], t.columns);
  EXPECT_EQ(md[2],
            (std::vector<std::string>{"captioner-lstm", "fashion-mnist-scenes/test", "nicgslowdown",
                                      "budget=1 norm=l2", "40", "2.5", "6", "1.25", "3", "10", "35",
                                      Cell(t, 0, "bleu4_clean"), Cell(t, 0, "bleu4_adv")}));
}

TEST(D2Table, UndefinedLatencyAndMissingBleuShowAsDashes) {
  std::map<std::string, double> m = {{"mean_iloops", 0},      {"max_iloops", 0},
                                     {"mean_ilatency", NAN},  {"max_ilatency", NAN},
                                     {"mean_steps_clean", 5}, {"mean_steps_adv", 5}};
  const QueryResult t = D2Table({Unit("translator", "clean", "{}", 4, m)});
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(Cell(t, 0, "params"), "-");
  EXPECT_EQ(Cell(t, 0, "ilatency_mean"), "-");
  EXPECT_EQ(Cell(t, 0, "ilatency_max"), "-");
  EXPECT_EQ(Cell(t, 0, "bleu4_adv"), "-");
  EXPECT_EQ(Cell(t, 0, "iloops_mean"), "0");
}

}  // namespace
}  // namespace effrobust
