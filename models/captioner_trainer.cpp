#include "models/captioner_trainer.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <string>

#include "common/error.h"
#include "common/log.h"
#include "evaluation/bleu.h"

namespace effrobust {

namespace {

constexpr int64_t kProgressEvery = 50;

// Captions [B, T] (<start> ... <end>, <pad> after) of scenes[idx].
torch::Tensor CaptionBatch(const Vocabulary& vocab, const std::vector<Scene>& scenes,
                           const std::vector<int64_t>& idx) {
  std::vector<std::vector<int64_t>> ids;
  size_t longest = 0;
  for (int64_t i : idx) {
    ids.push_back(vocab.Encode(scenes[static_cast<size_t>(i)].captions[0]));
    longest = std::max(longest, ids.back().size());
  }
  torch::Tensor out =
      torch::full({static_cast<int64_t>(idx.size()), static_cast<int64_t>(longest)},
                  Vocabulary::kPad, torch::kInt64);
  for (size_t b = 0; b < ids.size(); ++b) {
    for (size_t t = 0; t < ids[b].size(); ++t) out[b][t] = ids[b][t];
  }
  return out;
}

std::vector<Scene> Select(const std::vector<Scene>& scenes, const std::vector<int64_t>& idx) {
  std::vector<Scene> out;
  for (int64_t i : idx) out.push_back(scenes[static_cast<size_t>(i)]);
  return out;
}

}  // namespace

torch::Tensor SceneImages(const std::vector<Scene>& scenes) {
  if (scenes.empty()) return torch::zeros({0, 1, 0, 0});
  const int64_t s = scenes[0].size;
  torch::Tensor out = torch::empty({static_cast<int64_t>(scenes.size()), 1, s, s}, torch::kUInt8);
  for (size_t i = 0; i < scenes.size(); ++i) {
    if (scenes[i].size != s) throw DataError("scenes of different sizes in one batch");
    std::copy(scenes[i].pixels.begin(), scenes[i].pixels.end(),
              out[static_cast<int64_t>(i)].data_ptr<uint8_t>());
  }
  return out.to(torch::kFloat32).div_(255.0);
}

Vocabulary SceneVocabulary(const std::vector<Scene>& scenes) {
  std::vector<std::string> texts;
  for (const auto& s : scenes) texts.insert(texts.end(), s.captions.begin(), s.captions.end());
  return Vocabulary::FromTexts(texts);
}

CaptionerEval EvaluateCaptioner(Captioner& model, const Vocabulary& vocab,
                                const std::vector<Scene>& scenes, int64_t max_len,
                                int64_t batch) {
  torch::NoGradGuard no_grad;
  model->eval();
  CaptionerEval e;
  if (scenes.empty()) return e;
  std::vector<Tokens> candidates;
  std::vector<std::vector<Tokens>> references;
  for (size_t b = 0; b < scenes.size(); b += static_cast<size_t>(batch)) {
    const size_t end = std::min(scenes.size(), b + static_cast<size_t>(batch));
    std::vector<Scene> part(scenes.begin() + b, scenes.begin() + end);
    GreedyResult g = model->Greedy(SceneImages(part), max_len);
    for (size_t i = 0; i < part.size(); ++i) {
      const std::string text = vocab.Decode(g.tokens[i]);
      std::vector<int64_t> truth(10, 0);
      for (const auto& it : part[i].items) ++truth[it.label];
      e.multiset_accuracy += ItemsNamed(text) == truth ? 1 : 0;
      e.mean_steps += static_cast<double>(g.steps[i]);
      e.ended += g.ended[i] ? 1 : 0;
      candidates.push_back(Vocabulary::Split(text, false));
      std::vector<Tokens> refs;
      for (const auto& c : part[i].captions) refs.push_back(Vocabulary::Split(c, false));
      references.push_back(std::move(refs));
    }
  }
  const double n = static_cast<double>(scenes.size());
  e.multiset_accuracy /= n;
  e.mean_steps /= n;
  e.ended /= n;
  e.bleu4 = CorpusBleu(candidates, references, 4);
  return e;
}

TrainedModel TrainCaptioner(const ImageSet& fmnist_train, const ImageSet& fmnist_test,
                            const TrainOptions& options, const CaptionerTrainOptions& cap) {
  if (options.epochs < 1 || options.batch_size < 1 || options.lr <= 0 || cap.train_scenes < 1 ||
      cap.test_scenes < 1 || cap.max_len < 1) {
    throw ModelError("invalid captioner training options (epochs " +
                     std::to_string(options.epochs) + ", batch_size " +
                     std::to_string(options.batch_size) + ", scenes " +
                     std::to_string(cap.train_scenes) + "/" + std::to_string(cap.test_scenes) +
                     ")");
  }
  const double t0 = MonotonicSeconds();
  SceneGenerator train_gen(fmnist_train, cap.train_seed, cap.scenes);
  SceneGenerator test_gen(fmnist_test, cap.test_seed, cap.scenes);
  const std::vector<Scene> train = MakeScenes(train_gen, 0, cap.train_scenes);
  const std::vector<Scene> test = MakeScenes(test_gen, 0, cap.test_scenes);
  const Vocabulary vocab = SceneVocabulary(train);
  CaptionerConfig cfg = cap.config;
  cfg.vocab = vocab.size();
  cfg.image_size = cap.scenes.canvas;

  torch::manual_seed(static_cast<uint64_t>(options.seed));
  Captioner model(cfg);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  std::vector<int64_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  const int64_t n = static_cast<int64_t>(train.size());
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    model->train();
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t s = b * options.batch_size, e = std::min(n, s + options.batch_size);
      std::vector<int64_t> idx(order.begin() + s, order.begin() + e);
      torch::Tensor images = SceneImages(Select(train, idx));
      torch::Tensor caps = CaptionBatch(vocab, train, idx);
      optimizer.zero_grad();
      torch::Tensor logits = model->Forward(images, caps);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, cfg.vocab}), caps.slice(1, 1).reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(Vocabulary::kPad));
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++loss_count;
      if (options.progress && ((b + 1) % kProgressEvery == 0 || b + 1 == batches)) {
        options.progress(epoch, b + 1, batches, loss_sum / loss_count);
        loss_sum = 0;
        loss_count = 0;
      }
    }
  }
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  const CaptionerEval eval = EvaluateCaptioner(model, vocab, test, cap.max_len);

  TrainedModel out;
  ModelMetadata& meta = out.meta;
  meta.name = options.name;
  meta.arch = "captioner";
  meta.dataset = kScenesDataset;
  meta.config.in_channels = 1;
  meta.config.image_size = cfg.image_size;
  meta.config.num_classes = cfg.vocab;
  meta.config.channels.clear();
  meta.arch_config = cfg.ToArchConfig();
  meta.arch_config["max_len"] = static_cast<double>(cap.max_len);
  meta.vocabulary = vocab.Tokens();
  meta.seed = options.seed;
  meta.epochs = options.epochs;
  meta.full_accuracy = eval.multiset_accuracy;
  meta.stats = {{"multiset_accuracy", eval.multiset_accuracy},
                {"bleu4", eval.bleu4},
                {"mean_steps", eval.mean_steps},
                {"ended", eval.ended},
                {"train_scenes", static_cast<double>(cap.train_scenes)},
                {"test_scenes", static_cast<double>(cap.test_scenes)}};
  meta.train_seconds = MonotonicSeconds() - t0;
  meta.created_at = IsoTime(WallSeconds());
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                "%s captioner: %.1f %% of %lld test scenes named right, BLEU-4 %.3f, %.1f steps, "
                "%.1f %% ended",
                cfg.cell.c_str(), 100 * eval.multiset_accuracy,
                static_cast<long long>(cap.test_scenes), eval.bleu4, eval.mean_steps,
                100 * eval.ended);
  out.summary = buf;
  out.module = model.ptr();
  return out;
}

LoadedCaptioner LoadCaptioner(const std::string& path) {
  ModelFile file = ReadModelFile(path);
  const ModelMetadata& meta = file.meta;
  if (meta.arch != kCaptionerArch) {
    throw ModelError("model file '" + path + "' has arch '" + meta.arch + "', expected '" +
                     kCaptionerArch + "'");
  }
  if (meta.vocabulary.empty()) {
    throw ModelError("model file '" + path +
                     "' has no vocabulary in its metadata (a captioner needs the word "
                     "vocabulary it was trained with)");
  }
  // "[layer] msg" of a nested error as "msg".
  auto reason = [](const std::exception& e) {
    const std::string what = e.what();
    const size_t close = what.find("] ");
    return what.rfind("[", 0) == 0 && close != std::string::npos ? what.substr(close + 2) : what;
  };
  auto fail = [&](const std::exception& e) -> ModelError {
    return ModelError("model file '" + path + "': " + reason(e));
  };
  CaptionerConfig config;
  try {
    config = CaptionerConfig::FromArchConfig(meta.config.image_size, meta.arch_config);
  } catch (const ModelError& e) {
    throw fail(e);
  }
  std::optional<Vocabulary> vocab_or;
  try {
    vocab_or = Vocabulary::FromTokens(meta.vocabulary, false);
  } catch (const DataError& e) {
    throw fail(e);
  }
  Vocabulary vocab = std::move(*vocab_or);
  if (config.vocab != vocab.size()) {
    throw ModelError("model file '" + path + "' has a vocabulary of " +
                     std::to_string(vocab.size()) + " tokens but a network for " +
                     std::to_string(config.vocab));
  }
  int64_t max_len = 60;
  auto it = meta.arch_config.find("max_len");
  if (it != meta.arch_config.end()) max_len = static_cast<int64_t>(it->second);
  if (max_len < 1) {
    throw ModelError("model file '" + path + "' has max_len " + std::to_string(max_len) +
                     " (allowed: 1 or more)");
  }
  Captioner model{nullptr};
  try {
    model = Captioner(config);
  } catch (const ModelError& e) {
    throw fail(e);
  }
  LoadParameters(file, *model);
  model->eval();
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  return LoadedCaptioner{model, std::move(vocab), meta, max_len};
}

}  // namespace effrobust
