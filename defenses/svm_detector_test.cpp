// The input-validation detector's RBF SVM (libsvm) on hand-made feature
// sets: it separates what is separable, scores are probabilities, the same
// data and seed give the same scores, and bad input names the problem.
#include "defenses/svm_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "common/error.h"
#include "evaluation/validation_metrics.h"

namespace effrobust {
namespace {

// n clean rows around (0, 0) and n adversarial rows around (shift, shift),
// in 2-D with unit noise, interleaved.
void Blobs(int n, double shift, uint32_t seed, std::vector<std::vector<double>>* x,
           std::vector<bool>* adversarial) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  for (int i = 0; i < n; ++i) {
    for (bool a : {false, true}) {
      const double c = a ? shift : 0;
      x->push_back({c + noise(rng), c + noise(rng)});
      adversarial->push_back(a);
    }
  }
}

TEST(SvmDetectorTest, SeparatesSeparableClassesOnHeldOutRows) {
  std::vector<std::vector<double>> train, test;
  std::vector<bool> train_y, test_y;
  Blobs(60, 4.0, 1, &train, &train_y);
  Blobs(60, 4.0, 2, &test, &test_y);
  const SvmDetector d = SvmDetector::Train(train, train_y);
  EXPECT_EQ(d.features(), 2);
  EXPECT_GT(d.support_vectors(), 0);
  const std::vector<double> p = d.Score(test);
  ASSERT_EQ(p.size(), test.size());
  for (double v : p) EXPECT_TRUE(v >= 0 && v <= 1) << v;
  EXPECT_GT(RocAuc(p, test_y), 0.98);
  const DetectionRates r = RatesAt(p, test_y, 0.5);
  EXPECT_GT(r.detection_rate, 0.9);
  EXPECT_GT(r.clean_rate, 0.9);
}

TEST(SvmDetectorTest, OverlappingClassesScoreNearChance) {
  std::vector<std::vector<double>> train, test;
  std::vector<bool> train_y, test_y;
  Blobs(60, 0.0, 3, &train, &train_y);
  Blobs(60, 0.0, 4, &test, &test_y);
  const double auc = RocAuc(SvmDetector::Train(train, train_y).Score(test), test_y);
  EXPECT_GT(auc, 0.3);
  EXPECT_LT(auc, 0.7);
}

TEST(SvmDetectorTest, SameDataAndSeedGiveTheSameScores) {
  std::vector<std::vector<double>> x;
  std::vector<bool> y;
  Blobs(30, 1.5, 5, &x, &y);
  const std::vector<double> a = SvmDetector::Train(x, y).Score(x);
  std::rand();  // other users of rand() in between do not matter
  const std::vector<double> b = SvmDetector::Train(x, y).Score(x);
  EXPECT_EQ(a, b);
}

TEST(SvmDetectorTest, GammaScaleIsOneOverFeaturesTimesVariance) {
  // Values 0, 2 (mean 1, variance 1) in 2 features: gamma 1 / 2.
  const std::vector<std::vector<double>> x = {{0, 0}, {0, 0}, {2, 2}, {2, 2}};
  EXPECT_DOUBLE_EQ(SvmDetector::Train(x, {false, false, true, true}).gamma(), 0.5);
  SvmOptions o;
  o.gamma = 3;
  EXPECT_DOUBLE_EQ(SvmDetector::Train(x, {false, false, true, true}, o).gamma(), 3);
}

TEST(SvmDetectorTest, BadInputIsRefusedNamingTheProblem) {
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const DefenseError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::vector<std::vector<double>> x = {{0, 0}, {0, 1}, {2, 2}, {2, 3}};
  const std::vector<bool> y = {false, false, true, true};
  EXPECT_NE(message([&] {
              SvmDetector::Train(x, {false, false, false, true});
            }).find("1 adversarial and 3 clean rows"),
            std::string::npos);
  EXPECT_NE(message([&] {
              SvmDetector::Train({{0, 0}, {0}, {2, 2}, {2, 3}}, y);
            }).find("row 1 has 1 features"),
            std::string::npos);
  EXPECT_NE(message([&] {
              SvmDetector::Train({{0, 0}, {0, NAN}, {2, 2}, {2, 3}}, y);
            }).find("row 1 feature 1 is not finite"),
            std::string::npos);
  SvmOptions o;
  o.c = 0;
  EXPECT_NE(message([&] { SvmDetector::Train(x, y, o); }).find("allowed: c > 0"),
            std::string::npos);
  const SvmDetector d = SvmDetector::Train(x, y);
  EXPECT_NE(message([&] { d.Score({{1, 2, 3}}); }).find("row 0 has 3 features"), std::string::npos);
}

}  // namespace
}  // namespace effrobust
