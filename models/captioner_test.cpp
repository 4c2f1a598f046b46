// The attention captioner's mechanics: shapes, greedy decoding stopping at
// <end> and at max_len, both cells, and that teacher forcing learns; its
// checkpoints load with LoadCaptioner and not as classifier victims.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "common/error.h"
#include "data/vocabulary.h"
#include "models/captioner.h"
#include "models/captioner_trainer.h"
#include "models/victim_loader.h"

namespace effrobust {
namespace {

CaptionerConfig Small(const std::string& cell) {
  CaptionerConfig c;
  c.cell = cell;
  c.vocab = 12;
  c.channels = 16;
  c.embed = 8;
  c.hidden = 16;
  c.attention = 8;
  return c;
}

// Makes the output layer emit `token` at every step, whatever the input.
void ForceToken(Captioner& m, int64_t token) {
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    if (p.key() == "out.weight") p.value().zero_();
    if (p.key() == "out.bias") {
      p.value().fill_(0);
      p.value()[token] = 10;
    }
  }
}

class CaptionerCells : public ::testing::TestWithParam<std::string> {};

TEST_P(CaptionerCells, ShapesOfFeaturesTeacherForcingAndGreedyLogits) {
  torch::manual_seed(1);
  Captioner m(Small(GetParam()));
  torch::Tensor x = torch::rand({3, 1, 64, 64});
  EXPECT_EQ(m->Encode(x).sizes(), (std::vector<int64_t>{3, 64, 16}));  // 8 x 8 regions
  torch::Tensor caps = torch::randint(4, 12, {3, 7});
  EXPECT_EQ(m->Forward(x, caps).sizes(), (std::vector<int64_t>{3, 6, 12}));
  GreedyResult g = m->Greedy(x, 5);
  EXPECT_EQ(g.logits.size(0), 3);
  EXPECT_EQ(g.logits.size(2), 12);
  EXPECT_LE(g.logits.size(1), 5);
}

TEST_P(CaptionerCells, GreedyStopsAtTheEndToken) {
  Captioner m(Small(GetParam()));
  ForceToken(m, Vocabulary::kEnd);
  GreedyResult g = m->Greedy(torch::rand({2, 1, 64, 64}), 60);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(g.ended[i]);
    EXPECT_EQ(g.steps[i], 1);
    EXPECT_TRUE(g.tokens[i].empty());
  }
  EXPECT_EQ(g.logits.size(1), 1);
}

TEST_P(CaptionerCells, GreedyStopsAtMaxLengthWithoutAnEndToken) {
  Captioner m(Small(GetParam()));
  ForceToken(m, 7);
  GreedyResult g = m->Greedy(torch::rand({2, 1, 64, 64}), 9);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(g.ended[i]);
    EXPECT_EQ(g.steps[i], 9);
    EXPECT_EQ(g.tokens[i], std::vector<int64_t>(9, 7));
  }
}

TEST_P(CaptionerCells, TeacherForcingLearnsAFixedCaption) {
  torch::manual_seed(2);
  Captioner m(Small(GetParam()));
  torch::Tensor x = torch::rand({4, 1, 64, 64});
  torch::Tensor caps = torch::tensor({1, 5, 6, 7, 2}, torch::kInt64).repeat({4, 1});
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-2));
  auto loss = [&] {
    torch::Tensor l = m->Forward(x, caps);
    return torch::nn::functional::cross_entropy(l.reshape({-1, 12}),
                                                caps.slice(1, 1).reshape({-1}));
  };
  const double before = loss().item<double>();
  for (int i = 0; i < 60; ++i) {
    opt.zero_grad();
    torch::Tensor l = loss();
    l.backward();
    opt.step();
  }
  EXPECT_LT(loss().item<double>(), 0.1 * before);
  torch::NoGradGuard no_grad;
  GreedyResult g = m->Greedy(x, 20);
  EXPECT_EQ(g.tokens[0], (std::vector<int64_t>{5, 6, 7}));
  EXPECT_TRUE(g.ended[0]);
  EXPECT_EQ(g.steps[0], 4);
}

INSTANTIATE_TEST_SUITE_P(LstmAndGru, CaptionerCells, ::testing::Values("lstm", "gru"));

TEST(CaptionerConfigTest, ArchConfigRoundTripsAndBadValuesAreModelErrors) {
  CaptionerConfig c = Small("gru");
  CaptionerConfig back = CaptionerConfig::FromArchConfig(64, c.ToArchConfig());
  EXPECT_EQ(back.cell, "gru");
  EXPECT_EQ(back.vocab, 12);
  EXPECT_EQ(back.hidden, 16);
  auto arch = c.ToArchConfig();
  arch.erase("hidden");
  EXPECT_THROW(CaptionerConfig::FromArchConfig(64, arch), ModelError);
  c.cell = "rnn";
  EXPECT_THROW(Captioner{c}, ModelError);
  c = Small("lstm");
  c.image_size = 60;
  EXPECT_THROW(Captioner{c}, ModelError);
}

// An untrained captioner saved as TrainCaptioner's result would be.
class CaptionerCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/effrobust_captioner_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    vocab_tokens_ = Vocabulary::FromTexts({"a shirt and two shirts", "bag coat left"}).Tokens();
    config_ = Small("gru");
    config_.vocab = static_cast<int64_t>(vocab_tokens_.size());
    torch::manual_seed(5);
    model_ = Captioner(config_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Save(const std::string& name, std::function<void(ModelMetadata&)> edit = nullptr) {
    ModelMetadata meta;
    meta.name = name;
    meta.arch = "captioner";
    meta.dataset = "fashion-mnist-scenes";
    meta.config.in_channels = 1;
    meta.config.image_size = 64;
    meta.config.num_classes = config_.vocab;
    meta.config.channels.clear();
    meta.arch_config = config_.ToArchConfig();
    meta.arch_config["max_len"] = 17;
    meta.vocabulary = vocab_tokens_;
    if (edit) edit(meta);
    const std::string path = dir_ + "/" + name + ".pt";
    SaveModel(path, *model_, meta, true);
    return path;
  }

  std::string dir_;
  std::vector<std::string> vocab_tokens_;
  CaptionerConfig config_;
  Captioner model_{nullptr};
};

TEST_F(CaptionerCheckpoint, LoadsFrozenInEvalModeWithVocabularyAndMaxLen) {
  LoadedCaptioner c = LoadCaptioner(Save("ok"));
  EXPECT_FALSE(c.model->is_training());
  for (const auto& p : c.model->parameters()) EXPECT_FALSE(p.requires_grad());
  EXPECT_EQ(c.vocab.Tokens(), vocab_tokens_);
  EXPECT_EQ(c.max_len, 17);
  EXPECT_EQ(c.meta.dataset, "fashion-mnist-scenes");
  EXPECT_EQ(c.model->config().cell, "gru");
  // Same network: the same greedy tokens as the model that was saved.
  torch::NoGradGuard no_grad;
  model_->eval();
  torch::Tensor x = torch::rand({2, 1, 64, 64});
  EXPECT_EQ(c.model->Greedy(x, 17).tokens, model_->Greedy(x, 17).tokens);
}

std::string ModelErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "no ModelError";
}

TEST_F(CaptionerCheckpoint, WrongArchOrMissingVocabularyAreModelErrorsNamingTheFile) {
  const std::string no_vocab = Save("novocab", [](ModelMetadata& m) { m.vocabulary.clear(); });
  std::string e = ModelErrorOf([&] { LoadCaptioner(no_vocab); });
  EXPECT_NE(e.find("'" + no_vocab + "' has no vocabulary"), std::string::npos) << e;
  const std::string short_vocab =
      Save("short", [](ModelMetadata& m) { m.vocabulary.pop_back(); });
  e = ModelErrorOf([&] { LoadCaptioner(short_vocab); });
  EXPECT_NE(e.find("'" + short_vocab + "' has a vocabulary of"), std::string::npos) << e;
  const std::string other = Save("other", [](ModelMetadata& m) { m.arch = "skip_net"; });
  e = ModelErrorOf([&] { LoadCaptioner(other); });
  EXPECT_NE(e.find("'" + other + "' has arch 'skip_net', expected 'captioner'"),
            std::string::npos)
      << e;
  e = ModelErrorOf([&] { LoadCaptioner(dir_ + "/missing.pt"); });
  EXPECT_NE(e.find("missing.pt"), std::string::npos) << e;
}

TEST_F(CaptionerCheckpoint, IsNotAClassifierVictim) {
  const std::string path = Save("cap");
  const std::string e = ModelErrorOf([&] { LoadVictim(path); });
  EXPECT_NE(e.find("arch 'captioner', a captioning decoder, not a classifier victim"),
            std::string::npos)
      << e;
}

TEST(SceneItemTargetsTest, EachItemsClassSitsAtTheRegionOfItsCellCentreAndNoneElsewhere) {
  Scene s;
  s.size = 64;
  s.pixels.assign(64 * 64, 0);
  SceneItem a;
  a.label = 7;
  a.cell = Box{0, 0, 20, 20};  // centre (10, 10) -> region row 1, col 1
  SceneItem b;
  b.label = 0;
  b.cell = Box{44, 30, 64, 50};  // centre (54, 40) -> region row 5, col 6
  s.items = {a, b};
  torch::Tensor t = SceneItemTargets({s, s}, {1});
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 64}));
  EXPECT_EQ(t[0][1 * 8 + 1].item<int64_t>(), 7);
  EXPECT_EQ(t[0][5 * 8 + 6].item<int64_t>(), 0);
  EXPECT_EQ(t.ne(CaptionerImpl::kNoItem).sum().item<int64_t>(), 2);
  Captioner m(Small("lstm"));
  EXPECT_EQ(m->ItemLogits(torch::zeros({2, 1, 64, 64})).sizes(),
            (std::vector<int64_t>{2, 64, CaptionerImpl::kNoItem + 1}));
}

}  // namespace
}  // namespace effrobust
