#include "evaluation/defense_views.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"

namespace effrobust {
namespace {

TEST(DefenseViewsTest, ViewColumnsArePrefixedAndSharedColumnsSkipped) {
  RowBatch rows;
  rows.AddInt("sample_index", {7, 8});
  rows.AddInt("label", {1, 2});
  rows.AddReal("flops_adv", {10, 20});
  RowBatch view;
  view.AddInt("label", {1, 2});
  view.AddReal("flops_adv", {3, 4});
  view.AddText("text_adv", {"a", "b"});
  AppendColumns(view, DefenseViewPrefix("jpeg"), {"label"}, &rows);
  EXPECT_FALSE(rows.Has("jpeg.label"));
  EXPECT_EQ(rows.Get("jpeg.flops_adv").reals, (std::vector<double>{3, 4}));
  EXPECT_EQ(rows.Get("jpeg.text_adv").texts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(rows.Get("flops_adv").reals, (std::vector<double>{10, 20}));       // untouched
  EXPECT_THROW(AppendColumns(view, "jpeg.", {"label"}, &rows), ResultsError);  // twice
  RowBatch three;
  three.AddReal("x", {1, 2, 3});
  EXPECT_THROW(AppendColumns(three, "median.", {}, &rows), ResultsError);
  EXPECT_EQ(DefenseViewPrefix("none"), "");
}

TEST(DefenseViewsTest, ExtractViewUndoesAppendColumns) {
  RowBatch rows;
  rows.AddInt("sample_index", {7, 8});
  rows.AddInt("label", {1, 2});
  rows.AddReal("flops_adv", {10, 20});
  RowBatch view;
  view.AddInt("label", {1, 2});
  view.AddReal("flops_adv", {3, 4});
  AppendColumns(view, "median.", {"label"}, &rows);
  RowBatch back = ExtractView(rows, "median", {"label"});
  ASSERT_EQ(back.columns().size(), 2u);
  EXPECT_EQ(back.Get("label").ints, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(back.Get("flops_adv").reals, (std::vector<double>{3, 4}));
  RowBatch plain = ExtractView(rows, "none", {});
  EXPECT_EQ(plain.columns().size(), 3u);
  EXPECT_EQ(plain.Get("flops_adv").reals, (std::vector<double>{10, 20}));
  EXPECT_TRUE(ExtractView(rows, "jpeg", {"label"}).columns().empty());
}

TEST(DefenseViewsTest, MetricsRoundTripThroughTheirPrefix) {
  std::map<std::string, double> unit = {{"adv_acc", 0.5}, {"flops_ratio", 2}};
  AddViewMetrics({{"adv_acc", 0.8}, {"flops_ratio", 1.1}}, "jpeg", &unit);
  AddViewMetrics({{"adv_acc", 0.7}}, "median", &unit);
  EXPECT_EQ(unit.at("jpeg.adv_acc"), 0.8);
  EXPECT_EQ(ViewMetrics(unit, "none"),
            (std::map<std::string, double>{{"adv_acc", 0.5}, {"flops_ratio", 2}}));
  EXPECT_EQ(ViewMetrics(unit, "jpeg"),
            (std::map<std::string, double>{{"adv_acc", 0.8}, {"flops_ratio", 1.1}}));
  EXPECT_EQ(ViewMetrics(unit, "median"), (std::map<std::string, double>{{"adv_acc", 0.7}}));
  EXPECT_TRUE(ViewMetrics(unit, "nl_means").empty());
}

TEST(DefenseViewsTest, DefenseTimingMeanSkipsNaN) {
  RowBatch view;
  EXPECT_DOUBLE_EQ(AddDefenseTiming({1, 3}, {5, std::nan("")}, &view), 3.0);
  EXPECT_EQ(view.Get("defense_clean_ms").reals, (std::vector<double>{1, 3}));
  RowBatch caps;
  EXPECT_TRUE(std::isnan(AddDefenseTiming({std::nan("")}, {std::nan("")}, &caps)));
}

}  // namespace
}  // namespace effrobust
