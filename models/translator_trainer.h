// Training, evaluation and loading of the character-level translator on
// FreeDict English->German word pairs (data/translation_pairs.h). One
// character vocabulary is built from the training sources and targets.
// Teacher forcing, cross-entropy ignoring <pad>, Adam, gradient-norm
// clipping. Evaluation decodes greedily and reports exact matches, corpus
// BLEU-4 over characters (bytes, as the vocabulary splits them) against the
// one reference, the mean decoder steps and the share of outputs that
// reached <end>. Deterministic for a fixed seed and thread count; the caller
// sets torch's thread count.
#ifndef EFFROBUST_MODELS_TRANSLATOR_TRAINER_H_
#define EFFROBUST_MODELS_TRANSLATOR_TRAINER_H_

#include <string>
#include <vector>

#include "data/freedict.h"
#include "data/vocabulary.h"
#include "models/checkpoint.h"
#include "models/trainer.h"
#include "models/translator.h"

namespace effrobust {

struct TranslatorTrainOptions {
  TranslatorConfig config;   // vocab is set from the training pairs
  int64_t max_len = 60;      // Default: 60 (greedy decoding limit, evaluation and attacks)
  double clip_norm = 1.0;    // Default: 1.0 (largest gradient 2-norm per batch)
  int64_t eval_batch = 500;  // Default: 500 (pairs decoded at once in evaluation)
};

struct TranslatorEval {
  double exact_match = 0;  // share of outputs equal to the reference
  double char_bleu4 = 0;   // corpus BLEU-4 over characters
  double mean_steps = 0;   // decoder steps per source
  double ended = 0;        // share of outputs that reached <end>
};

// The characters vocabulary of every source and target of `pairs`.
Vocabulary TranslationVocabulary(const std::vector<DictPair>& pairs);

// Greedy translations of pairs' sources scored against their targets (see
// file comment), `batch` pairs at a time. Under NoGradGuard; leaves the model
// in eval mode. An empty `pairs` gives all zeros. Throws ModelError on
// max_len or batch < 1.
TranslatorEval EvaluateTranslator(Translator& model, const Vocabulary& vocab,
                                  const std::vector<DictPair>& pairs, int64_t max_len,
                                  int64_t batch = 500);

// Trains a translator on `train` (its first options.max_train pairs if that
// is > 0) and evaluates it on `test` (its first options.max_test if > 0). Of
// TrainOptions, name, epochs, batch_size, lr, seed, max_train, max_test and
// progress are used. meta.arch = "translator", meta.dataset = "freedict-eng-deu",
// meta.vocabulary = the vocabulary's tokens, meta.arch_config = the config
// plus "max_len", meta.stats: exact_match, char_bleu4, mean_steps, ended
// (test pairs), train_pairs, test_pairs. Throws ModelError on bad options or
// an empty train or test set.
TrainedModel TrainTranslator(const std::vector<DictPair>& train, const std::vector<DictPair>& test,
                             const TrainOptions& options, const TranslatorTrainOptions& t);

// A translator file loaded for attacks and evaluation.
struct LoadedTranslator {
  Translator model;
  Vocabulary vocab;
  ModelMetadata meta;
  int64_t max_len;  // the decoding limit it was trained and evaluated with
};

// Loads a file written by SaveModel from TrainTranslator's result: the
// model in eval mode with requires_grad false on every parameter. Throws
// ModelError naming the file if it is missing or unreadable, if its arch is
// not "translator", if it has no vocabulary or no "max_len", or if the
// parameters do not fit the configuration.
LoadedTranslator LoadTranslator(const std::string& path);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_TRANSLATOR_TRAINER_H_
