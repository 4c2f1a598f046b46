#include "defenses/input_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/error.h"
#include "defenses/catalog.h"

namespace effrobust {
namespace {

// Feature rows: each image's mean and standard deviation.
std::vector<std::vector<double>> MeanStd(const torch::Tensor& x) {
  torch::Tensor f = torch::stack({x.flatten(1).mean(1), x.flatten(1).std(1)}, 1)
                        .to(torch::kFloat64)
                        .contiguous();
  std::vector<std::vector<double>> rows;
  for (int64_t i = 0; i < f.size(0); ++i) {
    rows.push_back({f[i][0].item<double>(), f[i][1].item<double>()});
  }
  return rows;
}

ParamMap Params(const std::string& test_share = "0.3") {
  return CompleteDefenseParams("input_detector", {{"test_share", test_share}});
}

TEST(InputDetectorTest, NoisyTwinsAreDetectedAndTwinsStayOnOneSide) {
  torch::manual_seed(1);
  const int64_t n = 80;
  const torch::Tensor clean = torch::rand({n, 1, 16, 16}) * 0.2 + 0.4;
  const torch::Tensor adv = (clean + torch::randn({n, 1, 16, 16}) * 0.2).clamp(0, 1);
  std::vector<int64_t> source;
  for (int64_t i = 0; i < n; ++i) source.push_back(i / 2);  // two inputs per source
  const InputDetectorResult r = EvaluateInputDetector(clean, adv, source, MeanStd, Params(), 3, 32);
  EXPECT_GT(r.metrics.at("auc_plain"), 0.95);
  EXPECT_GT(r.metrics.at("mean_rate_plain"), 0.9);
  for (const char* v : {"jpeg", "smoothed"}) {
    EXPECT_TRUE(std::isfinite(r.metrics.at(std::string("auc_") + v))) << v;
  }
  EXPECT_EQ(r.metrics.at("train_sources") + r.metrics.at("test_sources"), 40);
  std::set<int64_t> test_sources, train_sources;
  for (int64_t i = 0; i < n; ++i) {
    (r.is_test[i] ? test_sources : train_sources).insert(source[i]);
    EXPECT_EQ(std::isnan(r.p_adv_clean[i]), !r.is_test[i]);  // scored only when held out
  }
  for (int64_t s : test_sources) EXPECT_EQ(train_sources.count(s), 0u) << "source " << s;
  EXPECT_GT(r.metrics.at("ms_per_input"), 0);
}

TEST(InputDetectorTest, IdenticalTwinsStayNearChance) {
  torch::manual_seed(2);
  const torch::Tensor clean = torch::rand({60, 1, 8, 8});
  std::vector<int64_t> source(60);
  for (int64_t i = 0; i < 60; ++i) source[i] = i;
  const InputDetectorResult r =
      EvaluateInputDetector(clean, clean.clone(), source, MeanStd, Params(), 3);
  EXPECT_NEAR(r.metrics.at("auc_plain"), 0.5, 1e-9);  // every pair ties
}

TEST(InputDetectorTest, TooFewSourcesLeaveTheRatesEmptyAndBadShapesThrow) {
  const torch::Tensor x = torch::rand({3, 1, 8, 8});
  const InputDetectorResult r = EvaluateInputDetector(x, x, {0, 1, 2}, MeanStd, Params("0.5"), 3);
  EXPECT_TRUE(std::isnan(r.metrics.at("auc_plain")));
  EXPECT_EQ(r.metrics.at("train_sources") + r.metrics.at("test_sources"), 3);
  EXPECT_THROW(EvaluateInputDetector(x, x.slice(0, 0, 2), {0, 1, 2}, MeanStd, Params(), 3),
               DefenseError);
  EXPECT_THROW(EvaluateInputDetector(x, x, {0, 1}, MeanStd, Params(), 3), DefenseError);
  const InputDetectorResult none = NoInputDetector(4);
  EXPECT_TRUE(none.metrics.empty());
  RowBatch view;
  AddInputDetectorColumns(none, &view);
  EXPECT_EQ(view.rows(), 4u);
  EXPECT_EQ(view.Get("test").ints, (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(InputDetectorTest, ActivationMeansAreChannelMeansConcatenated) {
  const torch::Tensor maps = torch::arange(2 * 3 * 2 * 2, torch::kFloat32).reshape({2, 3, 2, 2});
  const torch::Tensor tokens = torch::ones({2, 5, 4});
  const auto rows = ActivationMeanFeatures({maps, tokens});
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), 3u + 4u);
  EXPECT_DOUBLE_EQ(rows[0][0], 1.5);   // mean of 0, 1, 2, 3
  EXPECT_DOUBLE_EQ(rows[1][2], 21.5);  // mean of 20..23
  EXPECT_DOUBLE_EQ(rows[1][6], 1.0);
}

}  // namespace
}  // namespace effrobust
