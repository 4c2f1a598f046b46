#include "data/translation_pairs.h"

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include "common/error.h"

namespace effrobust {

namespace {

// Uniform integer in [0, n) from raw 64-bit draws: rejection sampling below
// the largest multiple of n, so no draw is biased and nothing depends on a
// library's distribution classes.
uint64_t UniformIndex(std::mt19937_64& rng, uint64_t n) {
  const uint64_t reject_below = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t x = rng();
    if (x >= reject_below) return x % n;
  }
}

void CheckSplit(const std::string& split) {
  if (split != "train" && split != "test") {
    throw DataError("translation split '" + split + "' is unknown (allowed: train, test)");
  }
}

}  // namespace

std::vector<DictPair> TranslationPairs(const std::vector<DictPair>& simple_pairs,
                                       const std::string& split, int64_t test_pairs,
                                       int64_t train_pairs) {
  CheckSplit(split);
  if (test_pairs < 1 || train_pairs < 1) {
    throw DataError("translation split sizes must be >= 1, got test " + std::to_string(test_pairs) +
                    ", train " + std::to_string(train_pairs));
  }
  std::vector<DictPair> pairs;
  std::set<std::string> seen;
  for (const DictPair& p : simple_pairs) {
    if (seen.insert(p.source).second) pairs.push_back(p);
  }
  const auto n = static_cast<int64_t>(pairs.size());
  if (n <= test_pairs) {
    throw DataError("translation split needs more than " + std::to_string(test_pairs) +
                    " pairs with distinct sources, got " + std::to_string(n));
  }
  // Fisher-Yates from the back.
  std::mt19937_64 rng(kTranslationSplitSeed);
  for (size_t i = pairs.size() - 1; i > 0; --i) {
    std::swap(pairs[i], pairs[UniformIndex(rng, i + 1)]);
  }
  if (split == "test") return {pairs.begin(), pairs.begin() + test_pairs};
  const int64_t end = std::min(n, test_pairs + train_pairs);
  return {pairs.begin() + test_pairs, pairs.begin() + end};
}

std::vector<DictPair> LoadTranslationPairs(const std::string& dict_dir, const std::string& split) {
  CheckSplit(split);  // before reading the dictionary
  return TranslationPairs(SimpleWordPairs(LoadFreeDict(dict_dir)), split);
}

}  // namespace effrobust
