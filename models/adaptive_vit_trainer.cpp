#include "models/adaptive_vit_trainer.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "common/error.h"
#include "common/log.h"
#include "common/value.h"
#include "data/tensor_view.h"

namespace effrobust {

namespace {

constexpr int64_t kEvalBatch = 500;
constexpr int64_t kProgressEvery = 50;

void Shuffle(std::vector<int64_t>* v, std::mt19937_64* rng) {
  for (size_t i = v->size(); i > 1; --i) {
    const size_t j = static_cast<size_t>((*rng)() % i);
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

struct Eval {
  double accuracy = 0;
  double token_depth = 0;
};

// Accuracy and mean token depth on set[0, n) with halting on or off.
Eval Evaluate(AdaptiveVit& model, const ImageSet& set, int64_t n, bool halting) {
  torch::NoGradGuard no_grad;
  model->eval();
  model->set_halting(halting);
  const double all = static_cast<double>(model->config().tokens() * model->config().depth);
  double correct = 0, depth = 0;
  for (int64_t b = 0; b < n; b += kEvalBatch) {
    const int64_t e = std::min(n, b + kEvalBatch);
    AdaptiveVitOutput r = model->Run(ImagesTensor(set, b, e));
    correct += r.logits.argmax(1).eq(LabelsTensor(set, b, e)).sum().item<double>();
    depth += r.active.sum().item<double>() / all;
  }
  model->set_halting(true);
  return {correct / static_cast<double>(n), depth / static_cast<double>(n)};
}

}  // namespace

TrainedModel TrainAdaptiveVit(const ImageSet& train, const ImageSet& test,
                              const TrainOptions& options, const AdaptiveVitTrainOptions& vit) {
  AdaptiveVitConfig cfg = vit.config;
  cfg.in_channels = train.channels;
  cfg.image_size = train.height;
  cfg.num_classes = train.num_classes;
  if (train.height != train.width || test.channels != train.channels ||
      test.height != train.height || test.width != train.width ||
      test.num_classes != train.num_classes) {
    throw ModelError("adaptive_vit needs square images of the same shape in train and test");
  }
  if (options.epochs < 1 || options.batch_size < 1 || options.lr <= 0) {
    throw ModelError("invalid training options (epochs " + std::to_string(options.epochs) +
                     ", batch_size " + std::to_string(options.batch_size) + ")");
  }
  if (options.validation_size < 0 || options.validation_size >= train.count) {
    throw ModelError("validation_size " + std::to_string(options.validation_size) +
                     " must be in [0, " + std::to_string(train.count) + ")");
  }
  const int pretrain =
      vit.pretrain_epochs >= 0 ? std::min(vit.pretrain_epochs, options.epochs) : options.epochs / 2;
  const int64_t train_end = train.count - options.validation_size;
  const int64_t n_train =
      options.max_train > 0 ? std::min(options.max_train, train_end) : train_end;
  const int64_t n_test = options.max_test > 0 ? std::min(options.max_test, test.count) : test.count;
  if (n_train < 1 || n_test < 1) throw ModelError("empty training or test set");

  const double t0 = MonotonicSeconds();
  torch::manual_seed(static_cast<uint64_t>(options.seed));
  AdaptiveVit model(cfg);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  const torch::Tensor images = ImagesTensor(train, 0, n_train);
  const torch::Tensor labels = LabelsTensor(train, 0, n_train);
  const int64_t batches = (n_train + options.batch_size - 1) / options.batch_size;
  std::vector<int64_t> order(n_train);
  for (int64_t i = 0; i < n_train; ++i) order[i] = i;
  double acc_pretrain = -1;

  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const bool halting = epoch >= pretrain;
    if (halting && epoch == pretrain && pretrain > 0) {
      acc_pretrain = Evaluate(model, test, n_test, false).accuracy;
    }
    model->train();
    model->set_halting(halting);
    Shuffle(&order, &rng);
    const torch::Tensor perm = torch::tensor(order, torch::kInt64);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t s = b * options.batch_size;
      const int64_t e = std::min(n_train, s + options.batch_size);
      auto idx = perm.slice(0, s, e);
      auto x = images.index_select(0, idx);
      auto y = labels.index_select(0, idx);
      optimizer.zero_grad();
      AdaptiveVitOutput r = model->Run(x);
      torch::Tensor loss = torch::nn::functional::cross_entropy(r.logits, y);
      if (halting) {
        loss = loss + vit.ponder_weight * r.ponder.mean();
        if (vit.prior_weight > 0) {
          loss = loss + vit.prior_weight * HaltingPriorKl(r.halting, vit.prior_depth);
        }
        if (vit.nohalt_weight > 0) {
          model->set_halting(false);
          loss = loss +
                 vit.nohalt_weight * torch::nn::functional::cross_entropy(model->Run(x).logits, y);
          model->set_halting(true);
        }
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
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  const Eval with = Evaluate(model, test, n_test, true);
  const Eval without = Evaluate(model, test, n_test, false);
  model->eval();
  model->set_halting(true);

  TrainedModel out;
  ModelMetadata& meta = out.meta;
  meta.name = options.name;
  meta.arch = "adaptive_vit";
  meta.config.in_channels = cfg.in_channels;
  meta.config.image_size = cfg.image_size;
  meta.config.num_classes = cfg.num_classes;
  meta.config.channels.clear();
  meta.arch_config = cfg.ToArchConfig();
  meta.seed = options.seed;
  meta.epochs = options.epochs;
  meta.full_accuracy = with.accuracy;
  meta.stats = {{"acc_halting", with.accuracy},
                {"acc_no_halting", without.accuracy},
                {"token_depth", with.token_depth},
                {"flops_full", model->FullFlops()},
                {"pretrain_epochs", static_cast<double>(pretrain)}};
  if (acc_pretrain >= 0) meta.stats["acc_pretrain"] = acc_pretrain;
  meta.train_seconds = MonotonicSeconds() - t0;
  meta.created_at = IsoTime(WallSeconds());
  char buf[200];
  std::snprintf(
      buf, sizeof(buf),
      "test accuracy %.4f with halting, %.4f without%s; token depth %.3f; full FLOPs %.0f",
      with.accuracy, without.accuracy,
      acc_pretrain >= 0
          ? (", " + FormatNumber(std::round(acc_pretrain * 1e4) / 1e4) + " after pre-training")
                .c_str()
          : "",
      with.token_depth, model->FullFlops());
  out.summary = buf;
  out.module = model.ptr();
  return out;
}

}  // namespace effrobust
