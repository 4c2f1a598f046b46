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

// Phrasing k of the scene as CaptionsFor orders them (captions[0] was
// swapped with a drawn one; the last phrasing when a scene has fewer).
std::string TrainPhrasing(const Scene& scene, int64_t k) {
  std::vector<std::string> ordered = CaptionsFor(scene.items, scene.size);
  return ordered[std::min<size_t>(static_cast<size_t>(k), ordered.size() - 1)];
}

// Captions [B, T] (<start> ... <end>, <pad> after) of scenes[idx].
torch::Tensor CaptionBatch(const Vocabulary& vocab, const std::vector<Scene>& scenes,
                           const std::vector<int64_t>& idx, int64_t phrasing) {
  std::vector<std::vector<int64_t>> ids;
  size_t longest = 0;
  for (int64_t i : idx) {
    const Scene& scene = scenes[static_cast<size_t>(i)];
    ids.push_back(vocab.Encode(phrasing < 0 ? scene.captions[0] : TrainPhrasing(scene, phrasing)));
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

}  // namespace

torch::Tensor SceneImages(const std::vector<Scene>& scenes, const std::vector<int64_t>& idx) {
  if (idx.empty()) return torch::zeros({0, 1, 0, 0});
  const int64_t s = scenes[static_cast<size_t>(idx[0])].size;
  torch::Tensor out = torch::empty({static_cast<int64_t>(idx.size()), 1, s, s}, torch::kUInt8);
  for (size_t i = 0; i < idx.size(); ++i) {
    const Scene& scene = scenes[static_cast<size_t>(idx[i])];
    if (scene.size != s) throw DataError("scenes of different sizes in one batch");
    std::copy(scene.pixels.begin(), scene.pixels.end(),
              out[static_cast<int64_t>(i)].data_ptr<uint8_t>());
  }
  return out.to(torch::kFloat32).div_(255.0);
}

torch::Tensor SceneImages(const std::vector<Scene>& scenes) {
  std::vector<int64_t> idx(scenes.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
  return SceneImages(scenes, idx);
}

torch::Tensor SceneItemTargets(const std::vector<Scene>& scenes, const std::vector<int64_t>& idx) {
  if (idx.empty()) return torch::zeros({0, 0}, torch::kInt64);
  const int64_t side = scenes[static_cast<size_t>(idx[0])].size / 8;
  torch::Tensor out =
      torch::full({static_cast<int64_t>(idx.size()), side * side}, CaptionerImpl::kNoItem,
                  torch::kInt64);
  auto a = out.accessor<int64_t, 2>();
  for (size_t i = 0; i < idx.size(); ++i) {
    for (const SceneItem& it : scenes[static_cast<size_t>(idx[i])].items) {
      const int64_t col = std::min<int64_t>(side - 1, static_cast<int64_t>(it.cell.cx()) / 8);
      const int64_t row = std::min<int64_t>(side - 1, static_cast<int64_t>(it.cell.cy()) / 8);
      a[static_cast<int64_t>(i)][row * side + col] = it.label;
    }
  }
  return out;
}

namespace {

// The item head's loss: mean cross-entropy over the regions holding an item
// plus the mean over the empty regions, so the few item regions (about 3 of
// 64) are not drowned by the empty ones.
torch::Tensor ItemLoss(const torch::Tensor& item_logits, const std::vector<Scene>& scenes,
                       const std::vector<int64_t>& idx) {
  torch::Tensor targets = SceneItemTargets(scenes, idx).reshape({-1});
  torch::Tensor ce = torch::nn::functional::cross_entropy(
      item_logits.reshape({-1, CaptionerImpl::kNoItem + 1}), targets,
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  torch::Tensor is_item = targets.ne(CaptionerImpl::kNoItem).to(ce.dtype());
  return (ce * is_item).sum() / is_item.sum().clamp_min(1) +
         (ce * (1 - is_item)).sum() / (1 - is_item).sum().clamp_min(1);
}

}  // namespace

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
  double items = 0;
  for (size_t b = 0; b < scenes.size(); b += static_cast<size_t>(batch)) {
    const size_t end = std::min(scenes.size(), b + static_cast<size_t>(batch));
    std::vector<Scene> part(scenes.begin() + b, scenes.begin() + end);
    torch::Tensor images = SceneImages(part);
    GreedyResult g = model->Greedy(images, max_len);
    std::vector<int64_t> all(part.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    torch::Tensor targets = SceneItemTargets(part, all);
    torch::Tensor named = model->ItemLogits(images).argmax(2);
    torch::Tensor is_item = targets.ne(CaptionerImpl::kNoItem);
    e.item_accuracy += named.eq(targets).logical_and(is_item).sum().item<double>();
    items += is_item.sum().item<double>();
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
  e.item_accuracy /= std::max(1.0, items);
  e.bleu4 = CorpusBleu(candidates, references, 4);
  return e;
}

TrainedModel TrainCaptioner(const ImageSet& fmnist_train, const ImageSet& fmnist_test,
                            const TrainOptions& options, const CaptionerTrainOptions& cap) {
  if (options.epochs < 1 || options.batch_size < 1 || options.lr <= 0 || cap.train_scenes < 1 ||
      cap.test_scenes < 1 || cap.max_len < 1 || cap.encoder_epochs < 0) {
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
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  std::vector<int64_t> order(train.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  const int64_t n = static_cast<int64_t>(train.size());
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  auto batch_of = [&](int64_t b) {
    const int64_t s = b * options.batch_size, e = std::min(n, s + options.batch_size);
    return std::vector<int64_t>(order.begin() + s, order.begin() + e);
  };

  // Phase 1: the encoder and item head learn what the items are and where.
  model->train();
  {
    torch::optim::Adam opt(model->EncoderParameters(), torch::optim::AdamOptions(options.lr));
    for (int64_t epoch = 0; epoch < cap.encoder_epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      double loss_sum = 0;
      int64_t loss_count = 0;
      for (int64_t b = 0; b < batches; ++b) {
        const std::vector<int64_t> idx = batch_of(b);
        opt.zero_grad();
        torch::Tensor loss = ItemLoss(model->ItemLogits(SceneImages(train, idx)), train, idx);
        loss.backward();
        opt.step();
        loss_sum += loss.item<double>();
        ++loss_count;
        if ((b + 1) % kProgressEvery == 0 || b + 1 == batches) {
          char buf[160];
          std::snprintf(buf, sizeof(buf), "[train] encoder epoch %lld/%lld batch %lld/%lld item loss %.4f",
                        static_cast<long long>(epoch + 1), static_cast<long long>(cap.encoder_epochs),
                        static_cast<long long>(b + 1), static_cast<long long>(batches),
                        loss_sum / loss_count);
          LogInfo(buf);
          loss_sum = 0;
          loss_count = 0;
        }
      }
    }
  }

  // Phase 2: the decoder learns to caption from the frozen encoder's output,
  // computed once per scene.
  std::vector<torch::Tensor> frozen = model->EncoderParameters();
  for (auto& p : frozen) p.set_requires_grad(false);
  torch::Tensor regions, items;
  {
    torch::NoGradGuard no_grad;
    model->eval();
    std::vector<torch::Tensor> r, it;
    std::vector<int64_t> all(train.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    for (int64_t b = 0; b < n; b += 256) {
      std::vector<int64_t> idx(all.begin() + b, all.begin() + std::min(n, b + 256));
      r.push_back(model->Regions(SceneImages(train, idx)));
      it.push_back(model->ItemHead(r.back()));
    }
    regions = torch::cat(r);
    items = torch::cat(it);
  }
  model->train();
  std::vector<torch::Tensor> decoder;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) decoder.push_back(p);
  }
  torch::optim::Adam optimizer(decoder, torch::optim::AdamOptions(options.lr));
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const std::vector<int64_t> idx = batch_of(b);
      torch::Tensor rows = torch::tensor(idx, torch::kInt64);
      torch::Tensor caps = CaptionBatch(vocab, train, idx, cap.phrasing);
      optimizer.zero_grad();
      auto caption_loss = [&](const torch::Tensor& features) {
        return torch::nn::functional::cross_entropy(
            model->TeacherForce(features, caps).reshape({-1, cfg.vocab}),
            caps.slice(1, 1).reshape({-1}),
            torch::nn::functional::CrossEntropyFuncOptions().ignore_index(Vocabulary::kPad));
      };
      torch::Tensor loss;
      if (options.adversarial) {
        // Adversarial images change the (frozen) encoder's output, so it is
        // computed from the images here rather than taken from the cache.
        const BatchLoss loss_of = [&](const torch::Tensor& images) {
          torch::Tensor r = model->Regions(images);
          return caption_loss(model->Features(r, model->ItemHead(r)));
        };
        loss = options.adversarial(*model, SceneImages(train, idx), loss_of);
      } else {
        loss = caption_loss(
            model->Features(regions.index_select(0, rows), items.index_select(0, rows)));
      }
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
  for (auto& p : frozen) p.set_requires_grad(true);
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
                {"item_accuracy", eval.item_accuracy},
                {"bleu4", eval.bleu4},
                {"mean_steps", eval.mean_steps},
                {"ended", eval.ended},
                {"train_scenes", static_cast<double>(cap.train_scenes)},
                {"test_scenes", static_cast<double>(cap.test_scenes)}};
  meta.train_seconds = MonotonicSeconds() - t0;
  meta.created_at = IsoTime(WallSeconds());
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                "%s captioner: %.1f %% of %lld test scenes named right (items %.1f %% by the item "
                "head), BLEU-4 %.3f, %.1f steps, %.1f %% ended",
                cfg.cell.c_str(), 100 * eval.multiset_accuracy,
                static_cast<long long>(cap.test_scenes), 100 * eval.item_accuracy, eval.bleu4, eval.mean_steps,
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
