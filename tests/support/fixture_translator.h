// TrainFixtureTranslator: the small character translator the unit tests
// train — embed 16, hidden 64, attention 32 (GRU decoder), on the first
// kFixtureTranslatorPairs pairs of the FreeDict "train" split, seconds on
// one core; evaluated on the same pairs (it is meant to have learnt them,
// not to generalise). Not the default model of `effrobust train`; tests
// here pin mechanisms, not the deployed model. Header-only (needs torch and
// the models library).
#ifndef EFFROBUST_TESTS_SUPPORT_FIXTURE_TRANSLATOR_H_
#define EFFROBUST_TESTS_SUPPORT_FIXTURE_TRANSLATOR_H_

#include <filesystem>
#include <string>
#include <vector>

#include "data/translation_pairs.h"
#include "models/translator_trainer.h"

namespace effrobust {

constexpr int64_t kFixtureTranslatorPairs = 400;

// Whether FreeDict English->German is installed where LoadFreeDict looks.
inline bool FreeDictInstalled() {
  return std::filesystem::exists(DefaultFreeDictDir() + "/freedict-eng-deu.index");
}

// The fixture's training pairs (first kFixtureTranslatorPairs of "train").
inline std::vector<DictPair> FixtureTranslatorPairs() {
  std::vector<DictPair> train = LoadTranslationPairs(DefaultFreeDictDir(), "train");
  train.resize(static_cast<size_t>(kFixtureTranslatorPairs));
  return train;
}

inline TranslatorTrainOptions FixtureTranslatorOptions() {
  TranslatorTrainOptions t;
  t.config.embed = 16;
  t.config.hidden = 64;
  t.config.attention = 32;
  t.max_len = 60;
  return t;
}

inline TrainedModel TrainFixtureTranslator(const std::vector<DictPair>& pairs) {
  TrainOptions o;
  o.name = "fixture-translator";
  o.epochs = 30;
  o.batch_size = 32;
  o.lr = 5e-3;
  o.seed = 5;
  return TrainTranslator(pairs, pairs, o, FixtureTranslatorOptions());
}

}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_FIXTURE_TRANSLATOR_H_
