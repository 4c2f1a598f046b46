// The character translator's mechanics: batch encoding, shapes, greedy
// decoding stopping at <end> and at max_len, decoding from embeddings,
// padding independence, checkpoints, and a fixture that learns real
// FreeDict pairs.
#include "models/translator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "common/error.h"
#include "data/vocabulary.h"
#include "models/translator_trainer.h"
#include "tests/support/fixture_translator.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

// Vocabulary: specials, then a..h (ids 4..11).
Vocabulary Letters() { return Vocabulary::FromTexts({"abcdefgh"}, /*characters=*/true); }

TranslatorConfig Small(const std::string& cell) {
  TranslatorConfig c;
  c.cell = cell;
  c.vocab = 12;
  c.embed = 8;
  c.hidden = 16;
  c.attention = 8;
  return c;
}

// Makes the output layer emit `token` at every step, whatever the input.
void ForceToken(Translator& m, int64_t token) {
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    if (p.key() == "out.weight") p.value().zero_();
    if (p.key() == "out.bias") {
      p.value().fill_(0);
      p.value()[token] = 10;
    }
  }
}

TEST(EncodeBatchTest, SourcesEndWithEndTargetsStartWithStartBothPadded) {
  const Vocabulary v = Letters();
  torch::Tensor src = EncodeBatch(v, {"ab", "hgfe"}, false);
  EXPECT_TRUE(torch::equal(src, torch::tensor({{4, 5, 2, 0, 0}, {11, 10, 9, 8, 2}})));
  torch::Tensor tgt = EncodeBatch(v, {"c", "az"}, true);  // z is not in the vocabulary
  EXPECT_TRUE(torch::equal(tgt, torch::tensor({{1, 6, 2, 0}, {1, 4, 3, 2}})));
  EXPECT_THROW(EncodeBatch(Vocabulary::FromTexts({"a b"}), {"a"}, false), ModelError);
}

class TranslatorCells : public ::testing::TestWithParam<std::string> {};

TEST_P(TranslatorCells, ShapesOfEmbeddingsTeacherForcingAndGreedyLogits) {
  torch::manual_seed(1);
  Translator m(Small(GetParam()));
  torch::Tensor src = EncodeBatch(Letters(), {"abc", "d", "hhhhh"}, false);
  EXPECT_EQ(m->Embed(src).sizes(), (std::vector<int64_t>{3, 6, 8}));
  EXPECT_EQ(m->EmbeddingWeight().sizes(), (std::vector<int64_t>{12, 8}));
  torch::Tensor tgt = EncodeBatch(Letters(), {"ab", "c", "defgh"}, true);
  EXPECT_EQ(m->Forward(src, tgt).sizes(), (std::vector<int64_t>{3, 6, 12}));
  GreedyResult g = m->Greedy(src, 5);
  EXPECT_EQ(g.logits.size(0), 3);
  EXPECT_EQ(g.logits.size(2), 12);
  EXPECT_LE(g.logits.size(1), 5);
}

TEST_P(TranslatorCells, GreedyStopsAtTheEndToken) {
  Translator m(Small(GetParam()));
  ForceToken(m, Vocabulary::kEnd);
  GreedyResult g = m->Greedy(EncodeBatch(Letters(), {"abc", "h"}, false), 60);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(g.ended[i]);
    EXPECT_EQ(g.steps[i], 1);
    EXPECT_TRUE(g.tokens[i].empty());
  }
  EXPECT_EQ(g.logits.size(1), 1);
}

TEST_P(TranslatorCells, GreedyStopsAtMaxLengthWithoutAnEndToken) {
  Translator m(Small(GetParam()));
  ForceToken(m, 7);
  GreedyResult g = m->Greedy(EncodeBatch(Letters(), {"abc", "h"}, false), 9);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(g.ended[i]);
    EXPECT_EQ(g.steps[i], 9);
    EXPECT_EQ(g.tokens[i], std::vector<int64_t>(9, 7));
  }
  EXPECT_THROW(m->Greedy(EncodeBatch(Letters(), {"a"}, false), 0), ModelError);
}

TEST_P(TranslatorCells, GreedyEqualsGreedyFromTheSourceEmbeddings) {
  torch::manual_seed(3);
  Translator m(Small(GetParam()));
  torch::NoGradGuard no_grad;
  torch::Tensor src = EncodeBatch(Letters(), {"abc", "deadbeef", "g"}, false);
  GreedyResult a = m->Greedy(src, 20);
  GreedyResult b = m->GreedyFromEmbedded(m->Embed(src), src != Vocabulary::kPad, 20);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.ended, b.ended);
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
}

TEST_P(TranslatorCells, PaddingAndBatchNeighboursDoNotChangeASourcesLogits) {
  torch::manual_seed(4);
  Translator m(Small(GetParam()));
  torch::NoGradGuard no_grad;
  const Vocabulary v = Letters();
  GreedyResult alone = m->Greedy(EncodeBatch(v, {"bad"}, false), 12);
  GreedyResult batch = m->Greedy(EncodeBatch(v, {"hhhhhhhhhh", "bad"}, false), 12);
  const int64_t t = alone.logits.size(1);
  EXPECT_TRUE(torch::allclose(batch.logits[1].slice(0, 0, t), alone.logits[0], 1e-5, 1e-5));
  EXPECT_EQ(batch.tokens[1], alone.tokens[0]);
}

TEST_P(TranslatorCells, GreedyLogitsCarryGradientsToTheEmbeddings) {
  torch::manual_seed(5);
  Translator m(Small(GetParam()));
  torch::Tensor src = EncodeBatch(Letters(), {"abc", "d"}, false);
  torch::Tensor e = m->Embed(src).detach().requires_grad_(true);
  GreedyResult g = m->GreedyFromEmbedded(e, src != Vocabulary::kPad, 4);
  torch::Tensor grad = torch::autograd::grad({g.logits.sum()}, {e})[0];
  EXPECT_GT(grad[0].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(grad[1][2].abs().sum().item<double>(), 0.0);  // a pad position
}

TEST_P(TranslatorCells, AnEmptyBatchDecodesToNothing) {
  Translator m(Small(GetParam()));
  GreedyResult g = m->Greedy(EncodeBatch(Letters(), {}, false), 10);
  EXPECT_TRUE(g.steps.empty());
  EXPECT_TRUE(g.tokens.empty());
  EXPECT_EQ(g.logits.sizes(), (std::vector<int64_t>{0, 0, 12}));
}

INSTANTIATE_TEST_SUITE_P(GruAndLstm, TranslatorCells, ::testing::Values("gru", "lstm"));

TEST(TranslatorConfigTest, ArchConfigRoundTripsAndBadValuesAreModelErrors) {
  TranslatorConfig c = Small("lstm");
  auto arch = c.ToArchConfig();
  arch["max_len"] = 60;  // other keys are ignored
  TranslatorConfig back = TranslatorConfig::FromArchConfig(arch);
  EXPECT_EQ(back.cell, "lstm");
  EXPECT_EQ(back.vocab, 12);
  EXPECT_EQ(back.embed, 8);
  EXPECT_EQ(back.hidden, 16);
  EXPECT_EQ(back.attention, 8);
  arch.erase("hidden");
  EXPECT_THROW(TranslatorConfig::FromArchConfig(arch), ModelError);
  arch = c.ToArchConfig();
  arch["cell"] = 2;
  EXPECT_THROW(TranslatorConfig::FromArchConfig(arch), ModelError);
  c.cell = "rnn";
  EXPECT_THROW(Translator{c}, ModelError);
  c = Small("gru");
  c.hidden = 15;
  EXPECT_THROW(Translator{c}, ModelError);
  c = Small("gru");
  c.vocab = 4;
  EXPECT_THROW(Translator{c}, ModelError);
}

// One fixture translator per binary, trained on real FreeDict pairs.
class FixtureTranslator : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!FreeDictInstalled()) return;
    pairs_ = new std::vector<DictPair>(FixtureTranslatorPairs());
    const auto t0 = std::chrono::steady_clock::now();
    trained_ = new TrainedModel(TrainFixtureTranslator(*pairs_));
    std::printf("fixture: %s (%.1f s)\n", trained_->summary.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  static void TearDownTestSuite() {
    delete trained_;
    delete pairs_;
    trained_ = nullptr;
  }
  void SetUp() override {
    if (trained_ == nullptr) GTEST_SKIP() << "freedict-eng-deu not installed";
  }
  static TrainedModel* trained_;
  static std::vector<DictPair>* pairs_;
};
TrainedModel* FixtureTranslator::trained_ = nullptr;
std::vector<DictPair>* FixtureTranslator::pairs_ = nullptr;

TEST_F(FixtureTranslator, LearnsItsTrainingPairsBeyondAnUntrainedModel) {
  const Vocabulary vocab = Vocabulary::FromTokens(trained_->meta.vocabulary, true);
  TranslatorConfig cfg = FixtureTranslatorOptions().config;
  cfg.vocab = vocab.size();
  torch::manual_seed(5);
  Translator untrained(cfg);
  const TranslatorEval before = EvaluateTranslator(untrained, vocab, *pairs_, 60);
  const auto& after = trained_->meta.stats;
  std::printf(
      "untrained: char BLEU-4 %.3f, %.1f steps, %.1f %% ended; trained: %.3f, %.1f, "
      "%.1f %%, %.1f %% exact\n",
      before.char_bleu4, before.mean_steps, 100 * before.ended, after.at("char_bleu4"),
      after.at("mean_steps"), 100 * after.at("ended"), 100 * after.at("exact_match"));
  EXPECT_GT(after.at("char_bleu4"), before.char_bleu4 + 0.2);
  EXPECT_GT(after.at("exact_match"), 0.2);
  EXPECT_GT(after.at("ended"), 0.95);
  EXPECT_LT(after.at("mean_steps"), 20);
  EXPECT_EQ(trained_->meta.arch, "translator");
  EXPECT_EQ(trained_->meta.dataset, "freedict-eng-deu");
  EXPECT_EQ(trained_->meta.arch_config.at("max_len"), 60);
}

TEST_F(FixtureTranslator, LoadTranslatorRestoresAFrozenModelThatDecodesTheSame) {
  TempDir dir("translator");
  const std::string path = dir.File("t.pt");
  SaveModel(path, *trained_->module, trained_->meta);
  LoadedTranslator loaded = LoadTranslator(path);
  EXPECT_EQ(loaded.max_len, 60);
  EXPECT_EQ(loaded.vocab.Tokens(), trained_->meta.vocabulary);
  EXPECT_FALSE(loaded.model->is_training());
  for (const auto& p : loaded.model->parameters()) EXPECT_FALSE(p.requires_grad());
  Translator original(std::dynamic_pointer_cast<TranslatorImpl>(trained_->module));
  torch::NoGradGuard no_grad;
  torch::Tensor src = EncodeBatch(loaded.vocab, {"house", "water", "dog"}, false);
  EXPECT_EQ(loaded.model->Greedy(src, 60).tokens, original->Greedy(src, 60).tokens);
}

TEST_F(FixtureTranslator, LoadTranslatorRejectsOtherArchsAndMissingVocabularies) {
  TempDir dir("translator");
  ModelMetadata meta = trained_->meta;
  meta.arch = "captioner";
  SaveModel(dir.File("a.pt"), *trained_->module, meta);
  try {
    LoadTranslator(dir.File("a.pt"));
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("a.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'captioner'"), std::string::npos) << e.what();
  }
  meta = trained_->meta;
  meta.vocabulary.clear();
  SaveModel(dir.File("b.pt"), *trained_->module, meta);
  EXPECT_THROW(LoadTranslator(dir.File("b.pt")), ModelError);
  EXPECT_THROW(LoadTranslator(dir.File("missing.pt")), ModelError);
}

}  // namespace
}  // namespace effrobust
