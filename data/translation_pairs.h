// The English->German word-translation data set of the character-level
// translator: a fixed, seeded split of FreeDict's single-word pairs
// (SimpleWordPairs) into a test set and a disjoint train set. Deterministic
// on every platform (the shuffle draws its indices from std::mt19937_64 by
// hand, without std::shuffle or std::uniform_int_distribution, whose
// outputs the standard leaves to the library). Torch-free. Thread-safe:
// free functions on values.
#ifndef EFFROBUST_DATA_TRANSLATION_PAIRS_H_
#define EFFROBUST_DATA_TRANSLATION_PAIRS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/freedict.h"

namespace effrobust {

// The dataset name experiments use for these pairs (translator checkpoints
// record it as their dataset).
inline constexpr char kTranslationDataset[] = "freedict-eng-deu";
constexpr int64_t kTranslationTestPairs = 2000;       // size of the "test" split
constexpr int64_t kTranslationTrainPairs = 60000;     // largest "train" split
constexpr uint64_t kTranslationSplitSeed = 20220715;  // seed of the split's shuffle

// Splits `simple_pairs` (SimpleWordPairs output): pairs whose source
// already appeared earlier are dropped (the first is kept), the rest are
// shuffled with std::mt19937_64(kTranslationSplitSeed); "test" is the first
// `test_pairs` of them, "train" the next up to `train_pairs`, so the two
// never share a source. Order within a split is the shuffled order.
// Throws DataError on an unknown split (allowed: "train", "test") or when
// fewer than test_pairs + 1 distinct sources remain (the train split would
// be empty); test_pairs and train_pairs must be >= 1.
std::vector<DictPair> TranslationPairs(const std::vector<DictPair>& simple_pairs,
                                       const std::string& split,
                                       int64_t test_pairs = kTranslationTestPairs,
                                       int64_t train_pairs = kTranslationTrainPairs);

// LoadFreeDict(dict_dir) (freedict-eng-deu) + SimpleWordPairs (default
// lengths) + TranslationPairs(split). Throws DataError as those do.
std::vector<DictPair> LoadTranslationPairs(const std::string& dict_dir, const std::string& split);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_TRANSLATION_PAIRS_H_
