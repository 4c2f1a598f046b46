#include "models/translator_trainer.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/error.h"
#include "common/log.h"
#include "evaluation/bleu.h"

namespace effrobust {

namespace {

constexpr int64_t kProgressEvery = 50;

std::vector<std::string> Sources(const std::vector<DictPair>& pairs, size_t begin, size_t end) {
  std::vector<std::string> out;
  for (size_t i = begin; i < end; ++i) out.push_back(pairs[i].source);
  return out;
}

// An error's message without its "[layer] " prefix.
std::string Reason(const std::exception& e) {
  const std::string what = e.what();
  const size_t close = what.find("] ");
  return what.rfind('[', 0) == 0 && close != std::string::npos ? what.substr(close + 2) : what;
}

std::vector<DictPair> Head(const std::vector<DictPair>& pairs, int64_t limit) {
  if (limit <= 0 || limit >= static_cast<int64_t>(pairs.size())) return pairs;
  return {pairs.begin(), pairs.begin() + limit};
}

}  // namespace

Vocabulary TranslationVocabulary(const std::vector<DictPair>& pairs) {
  std::vector<std::string> texts;
  for (const auto& p : pairs) {
    texts.push_back(p.source);
    texts.push_back(p.target);
  }
  return Vocabulary::FromTexts(texts, /*characters=*/true);
}

TranslatorEval EvaluateTranslator(Translator& model, const Vocabulary& vocab,
                                  const std::vector<DictPair>& pairs, int64_t max_len,
                                  int64_t batch) {
  if (max_len < 1 || batch < 1) {
    throw ModelError("translator evaluation needs max_len >= 1 and batch >= 1, got " +
                     std::to_string(max_len) + " and " + std::to_string(batch));
  }
  torch::NoGradGuard no_grad;
  model->eval();
  TranslatorEval e;
  if (pairs.empty()) return e;
  std::vector<Tokens> candidates;
  std::vector<std::vector<Tokens>> references;
  for (size_t b = 0; b < pairs.size(); b += static_cast<size_t>(batch)) {
    const size_t end = std::min(pairs.size(), b + static_cast<size_t>(batch));
    GreedyResult g = model->Greedy(EncodeBatch(vocab, Sources(pairs, b, end), false), max_len);
    for (size_t i = b; i < end; ++i) {
      const std::string text = vocab.Decode(g.tokens[i - b]);
      e.exact_match += text == pairs[i].target ? 1 : 0;
      e.mean_steps += static_cast<double>(g.steps[i - b]);
      e.ended += g.ended[i - b] ? 1 : 0;
      candidates.push_back(Vocabulary::Split(text, true));
      references.push_back({Vocabulary::Split(pairs[i].target, true)});
    }
  }
  const double n = static_cast<double>(pairs.size());
  e.exact_match /= n;
  e.mean_steps /= n;
  e.ended /= n;
  e.char_bleu4 = CorpusBleu(candidates, references, 4);
  return e;
}

TrainedModel TrainTranslator(const std::vector<DictPair>& train_all,
                             const std::vector<DictPair>& test_all, const TrainOptions& options,
                             const TranslatorTrainOptions& t) {
  const std::vector<DictPair> train = Head(train_all, options.max_train);
  const std::vector<DictPair> test = Head(test_all, options.max_test);
  if (options.epochs < 1 || options.batch_size < 1 || options.lr <= 0 || t.max_len < 1 ||
      t.clip_norm <= 0 || t.eval_batch < 1 || train.empty() || test.empty()) {
    throw ModelError("invalid translator training options (epochs " +
                     std::to_string(options.epochs) + ", batch_size " +
                     std::to_string(options.batch_size) + ", lr " + std::to_string(options.lr) +
                     ", max_len " + std::to_string(t.max_len) + ", clip_norm " +
                     std::to_string(t.clip_norm) + ", pairs " + std::to_string(train.size()) + "/" +
                     std::to_string(test.size()) +
                     "; allowed: positive numbers and non-empty train and test pairs)");
  }
  const double t0 = MonotonicSeconds();
  const Vocabulary vocab = TranslationVocabulary(train);
  TranslatorConfig cfg = t.config;
  cfg.vocab = vocab.size();

  torch::manual_seed(static_cast<uint64_t>(options.seed));
  Translator model(cfg);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  std::vector<size_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto n = static_cast<int64_t>(train.size());
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    model->train();
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t s = b * options.batch_size, e = std::min(n, s + options.batch_size);
      std::vector<std::string> sources, targets;
      for (int64_t i = s; i < e; ++i) {
        sources.push_back(train[order[i]].source);
        targets.push_back(train[order[i]].target);
      }
      torch::Tensor src = EncodeBatch(vocab, sources, false);
      torch::Tensor tgt = EncodeBatch(vocab, targets, true);
      optimizer.zero_grad();
      torch::Tensor logits = model->Forward(src, tgt);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, cfg.vocab}), tgt.slice(1, 1).reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(Vocabulary::kPad));
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), t.clip_norm);
      optimizer.step();
      loss_sum += loss.item<double>();
      ++loss_count;
      if (options.progress && ((b + 1) % kProgressEvery == 0 || b + 1 == batches)) {
        options.progress(epoch, b + 1, batches, loss_sum / static_cast<double>(loss_count));
        loss_sum = 0;
        loss_count = 0;
      }
    }
  }
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  const TranslatorEval eval = EvaluateTranslator(model, vocab, test, t.max_len, t.eval_batch);

  TrainedModel out;
  ModelMetadata& meta = out.meta;
  meta.name = options.name;
  meta.arch = "translator";
  meta.dataset = "freedict-eng-deu";
  meta.config.in_channels = 0;
  meta.config.image_size = 0;
  meta.config.num_classes = cfg.vocab;
  meta.config.channels.clear();
  meta.arch_config = cfg.ToArchConfig();
  meta.arch_config["max_len"] = static_cast<double>(t.max_len);
  meta.vocabulary = vocab.Tokens();
  meta.seed = options.seed;
  meta.epochs = options.epochs;
  meta.full_accuracy = eval.exact_match;
  meta.stats = {{"exact_match", eval.exact_match},
                {"char_bleu4", eval.char_bleu4},
                {"mean_steps", eval.mean_steps},
                {"ended", eval.ended},
                {"train_pairs", static_cast<double>(train.size())},
                {"test_pairs", static_cast<double>(test.size())}};
  meta.train_seconds = MonotonicSeconds() - t0;
  meta.created_at = IsoTime(WallSeconds());
  char buf[240];
  std::snprintf(buf, sizeof(buf),
                "%s translator: %.1f %% of %zu test words exact, char BLEU-4 %.3f, %.1f steps, "
                "%.1f %% ended",
                cfg.cell.c_str(), 100 * eval.exact_match, test.size(), eval.char_bleu4,
                eval.mean_steps, 100 * eval.ended);
  out.summary = buf;
  out.module = model.ptr();
  return out;
}

LoadedTranslator LoadTranslator(const std::string& path) {
  ModelFile file = ReadModelFile(path);
  if (file.meta.arch != "translator") {
    throw ModelError("model file '" + path + "' has arch '" + file.meta.arch +
                     "', expected 'translator'");
  }
  if (file.meta.vocabulary.empty()) {
    throw ModelError("model file '" + path + "' has no vocabulary (a translator needs one)");
  }
  auto max_len = file.meta.arch_config.find("max_len");
  if (max_len == file.meta.arch_config.end() || max_len->second < 1) {
    throw ModelError("model file '" + path + "' has no 'max_len' >= 1 in its config");
  }
  Translator model{nullptr};
  try {
    TranslatorConfig cfg = TranslatorConfig::FromArchConfig(file.meta.arch_config);
    if (cfg.vocab != static_cast<int64_t>(file.meta.vocabulary.size())) {
      throw ModelError("config vocab " + std::to_string(cfg.vocab) + " but " +
                       std::to_string(file.meta.vocabulary.size()) + " vocabulary tokens");
    }
    model = Translator(cfg);
  } catch (const ModelError& e) {
    throw ModelError("model file '" + path + "': " + Reason(e));
  }
  Vocabulary vocab = [&] {
    try {
      return Vocabulary::FromTokens(file.meta.vocabulary, /*characters=*/true);
    } catch (const DataError& e) {
      throw ModelError("model file '" + path + "': " + Reason(e));
    }
  }();
  LoadParameters(file, *model);
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  return LoadedTranslator{model, std::move(vocab), file.meta,
                          static_cast<int64_t>(max_len->second)};
}

}  // namespace effrobust
