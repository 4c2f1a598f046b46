// The CaptioningVictim adapter of the built-in captioner: the same greedy
// decoding as CaptionerImpl (and as stepping it by hand, as the decoding
// loop did before models/decoding.h shared it), region features, the input
// stage through InputStageGuard, and the vocabulary and max_len it carries.
#include "models/captioning_victim.h"

#include <gtest/gtest.h>

#include "data/vocabulary.h"
#include "models/captioner.h"

namespace effrobust {
namespace {

Captioner SmallCaptioner(const std::string& cell) {
  torch::manual_seed(4);
  CaptionerConfig c;
  c.cell = cell;
  c.vocab = 12;
  c.channels = 16;
  c.embed = 8;
  c.hidden = 16;
  c.attention = 8;
  Captioner m(c);
  m->eval();
  return m;
}

// Greedy decoding by calling Step until every sample emitted <end>.
GreedyResult StepByStep(Captioner& m, const torch::Tensor& x, int64_t max_len) {
  torch::Tensor f = m->Encode(x);
  DecoderState s = m->InitState(f);
  const int64_t b = x.size(0);
  torch::Tensor tokens = torch::full({b}, Vocabulary::kStart, torch::kInt64);
  GreedyResult r;
  r.tokens.assign(b, {});
  r.steps.assign(b, 0);
  r.ended.assign(b, false);
  std::vector<torch::Tensor> logits;
  for (int64_t t = 0; t < max_len; ++t) {
    bool alive = false;
    for (int64_t i = 0; i < b; ++i) alive = alive || !r.ended[i];
    if (!alive) break;
    torch::Tensor l = m->Step(f, tokens, &s);
    logits.push_back(l);
    tokens = l.argmax(1);
    for (int64_t i = 0; i < b; ++i) {
      if (r.ended[i]) continue;
      ++r.steps[i];
      if (tokens[i].item<int64_t>() == Vocabulary::kEnd) {
        r.ended[i] = true;
      } else {
        r.tokens[i].push_back(tokens[i].item<int64_t>());
      }
    }
  }
  r.logits = torch::stack(logits, 1);
  return r;
}

TEST(CaptionerVictimTest, GreedyIsCaptionerImplsAndSteppingByHandForBothCells) {
  for (const std::string cell : {"lstm", "gru"}) {
    Captioner m = SmallCaptioner(cell);
    CaptionerVictim victim(m);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::rand({4, 1, 64, 64});
    const GreedyResult a = victim.Greedy(x, 9);
    const GreedyResult b = m->Greedy(x, 9);
    const GreedyResult c = StepByStep(m, x, 9);
    for (const GreedyResult* other : {&b, &c}) {
      EXPECT_EQ(a.tokens, other->tokens) << cell;
      EXPECT_EQ(a.steps, other->steps) << cell;
      EXPECT_EQ(a.ended, other->ended) << cell;
      EXPECT_TRUE(torch::equal(a.logits, other->logits)) << cell;
    }
    EXPECT_TRUE(torch::equal(victim.RegionFeatures(x), m->Regions(x)));
  }
}

TEST(CaptionerVictimTest, LogitsKeepTheGraphToTheImages) {
  Captioner m = SmallCaptioner("lstm");
  CaptionerVictim victim(m);
  torch::Tensor x = torch::rand({2, 1, 64, 64}).requires_grad_(true);
  victim.Greedy(x, 4).logits.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0);
}

TEST(CaptionerVictimTest, InputStageGuardAppliesTheStageThroughTheInterfaceAndClearsIt) {
  Captioner m = SmallCaptioner("gru");
  CaptionerVictim victim(m);
  CaptioningVictim& v = victim;
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({2, 1, 64, 64});
  const torch::Tensor zeros = torch::zeros_like(x);
  {
    InputStageGuard<CaptioningVictim> guard(v, [](const torch::Tensor& im) { return im * 0; });
    EXPECT_TRUE(torch::equal(v.Greedy(x, 6).logits, m->Greedy(zeros, 6).logits));
  }
  EXPECT_TRUE(torch::equal(v.Greedy(x, 6).logits, m->Greedy(x, 6).logits));
}

TEST(CaptionerVictimTest, CarriesTheVocabularyAndMaxLenItWasGiven) {
  Captioner m = SmallCaptioner("lstm");
  const Vocabulary vocab = Vocabulary::FromTexts({"a shirt and a bag"});
  CaptionerVictim victim(m, vocab, 17);
  EXPECT_EQ(victim.vocabulary().Tokens(), vocab.Tokens());
  EXPECT_EQ(victim.max_len(), 17);
  EXPECT_EQ(victim.in_channels(), 1);
  EXPECT_EQ(victim.image_size(), 64);
  EXPECT_EQ(&victim.module(), m.get());
  CaptionerVictim bare(m);
  EXPECT_EQ(bare.vocabulary().size(), 4);
  EXPECT_EQ(bare.max_len(), 60);
}

}  // namespace
}  // namespace effrobust
