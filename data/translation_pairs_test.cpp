// Tests for the seeded train/test split of FreeDict word pairs.
#include "data/translation_pairs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace effrobust {
namespace {

// n pairs "w<i>" -> "u<i>", in order.
std::vector<DictPair> Numbered(int n) {
  std::vector<DictPair> out;
  for (int i = 0; i < n; ++i) out.push_back({"w" + std::to_string(i), "u" + std::to_string(i)});
  return out;
}

std::set<std::string> Sources(const std::vector<DictPair>& pairs) {
  std::set<std::string> out;
  for (const auto& p : pairs) out.insert(p.source);
  return out;
}

TEST(TranslationPairsTest, TestAndTrainHaveTheRequestedSizesAndShareNoSource) {
  const std::vector<DictPair> all = Numbered(100);
  const auto test = TranslationPairs(all, "test", 20, 50);
  const auto train = TranslationPairs(all, "train", 20, 50);
  EXPECT_EQ(test.size(), 20u);
  EXPECT_EQ(train.size(), 50u);
  const auto test_sources = Sources(test);
  for (const auto& p : train) EXPECT_EQ(test_sources.count(p.source), 0u) << p.source;
  // Train takes what is left when fewer than train_pairs remain.
  EXPECT_EQ(TranslationPairs(all, "train", 20, 1000).size(), 80u);
}

TEST(TranslationPairsTest, SplitIsDeterministicAndShuffled) {
  const std::vector<DictPair> all = Numbered(100);
  const auto a = TranslationPairs(all, "test", 20, 50);
  const auto b = TranslationPairs(all, "test", 20, 50);
  ASSERT_EQ(a.size(), b.size());
  int in_place = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].source, b[i].source);
    EXPECT_EQ(a[i].target, b[i].target);
    in_place += a[i].source == all[i].source ? 1 : 0;
  }
  EXPECT_LT(in_place, 5);  // not the input order
  // The pairs stay pairs.
  for (const auto& p : a) EXPECT_EQ(p.target, "u" + p.source.substr(1));
}

TEST(TranslationPairsTest, RepeatedSourcesKeepTheirFirstPair) {
  std::vector<DictPair> all = Numbered(30);
  all.push_back({"w3", "other"});
  all.insert(all.begin(), {"w7", "first"});
  auto test = TranslationPairs(all, "test", 10, 100);
  auto train = TranslationPairs(all, "train", 10, 100);
  EXPECT_EQ(test.size() + train.size(), 30u);
  train.insert(train.end(), test.begin(), test.end());
  EXPECT_EQ(Sources(train).size(), 30u);
  for (const auto& p : train) {
    if (p.source == "w7") EXPECT_EQ(p.target, "first");
    if (p.source == "w3") EXPECT_EQ(p.target, "u3");
  }
}

TEST(TranslationPairsTest, UnknownSplitOrTooFewPairsAreDataErrors) {
  const std::vector<DictPair> all = Numbered(30);
  try {
    TranslationPairs(all, "validation", 10, 10);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("allowed: train, test"), std::string::npos);
  }
  EXPECT_THROW(TranslationPairs(all, "train", 30, 10), DataError);  // nothing left to train on
  EXPECT_THROW(TranslationPairs(all, "test", 0, 10), DataError);
  EXPECT_THROW(TranslationPairs(Numbered(2000), "test"), DataError);  // default needs > 2000
}

TEST(TranslationPairsTest, RealDictionaryGivesTheDefaultSplitSizes) {
  const std::string dir = DefaultFreeDictDir();
  if (!std::filesystem::exists(dir + "/freedict-eng-deu.index")) {
    GTEST_SKIP() << "freedict-eng-deu not installed in " << dir;
  }
  const auto test = LoadTranslationPairs(dir, "test");
  const auto train = LoadTranslationPairs(dir, "train");
  EXPECT_EQ(static_cast<int64_t>(test.size()), kTranslationTestPairs);
  EXPECT_GT(train.size(), 10000u);
  EXPECT_LE(static_cast<int64_t>(train.size()), kTranslationTrainPairs);
  const auto test_sources = Sources(test);
  EXPECT_EQ(test_sources.size(), test.size());
  for (const auto& p : train) ASSERT_EQ(test_sources.count(p.source), 0u) << p.source;
}

}  // namespace
}  // namespace effrobust
