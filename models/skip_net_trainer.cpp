#include "models/skip_net_trainer.h"

#include <cstdio>
#include <random>
#include <string>

#include "common/error.h"
#include "common/log.h"
#include "data/tensor_view.h"

namespace effrobust {

namespace {

constexpr int64_t kEvalBatch = 1000;
constexpr int64_t kProgressEvery = 50;
constexpr double kWarmupShare = 0.3;  // share of steps with stochastic-depth warm-up
constexpr double kDropProb = 0.25;    // per-sample block drop probability in warm-up
constexpr double kTargetUsage = 0.6;  // executed share of gated FLOPs the penalty allows
constexpr double kComputeWeight = 2.0;

void Shuffle(std::vector<int64_t>* v, std::mt19937_64* rng) {
  for (size_t i = v->size(); i > 1; --i) {
    const size_t j = static_cast<size_t>((*rng)() % i);
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

// Executed share of gated-block FLOPs per sample [B] (differentiable
// through straight-through masks).
torch::Tensor GatedUsage(SkipNet& model, const std::vector<torch::Tensor>& masks) {
  torch::Tensor u = torch::zeros_like(masks.front());
  for (int64_t j = 0; j < model->num_gates(); ++j) {
    u = u + masks[j] * model->block_flops(model->gated_block(j));
  }
  return u / model->gated_block_flops();
}

struct EvalStats {
  double accuracy = 0;
  double usage = 0;       // mean executed share of gated-block FLOPs
  double blocks_run = 0;  // mean gated blocks run
};

EvalStats Evaluate(SkipNet& model, const ImageSet& set, int64_t n, GateMode mode) {
  torch::NoGradGuard no_grad;
  model->set_all_gates(mode);
  EvalStats s;
  for (int64_t b = 0; b < n; b += kEvalBatch) {
    const int64_t e = std::min(n, b + kEvalBatch);
    SkipNetPass pass = model->ForwardGated(ImagesTensor(set, b, e));
    s.accuracy += pass.logits.argmax(1).eq(LabelsTensor(set, b, e)).sum().item<double>();
    s.usage += GatedUsage(model, pass.masks).sum().item<double>();
    for (const auto& m : pass.masks) s.blocks_run += m.sum().item<double>();
  }
  model->set_all_gates(GateMode::kAuto);
  s.accuracy /= static_cast<double>(n);
  s.usage /= static_cast<double>(n);
  s.blocks_run /= static_cast<double>(n);
  return s;
}

}  // namespace

TrainedModel TrainSkipNet(const ImageSet& train, const ImageSet& test, const TrainOptions& options,
                          SkipNetConfig config) {
  config.in_channels = options.config.in_channels;
  config.image_size = options.config.image_size;
  config.num_classes = options.config.num_classes;
  for (const ImageSet* set : {&train, &test}) {
    if (set->channels != config.in_channels || set->height != config.image_size ||
        set->width != config.image_size || set->num_classes != config.num_classes) {
      throw ModelError(std::string(set == &train ? "training" : "test") +
                       " set shape does not match the skip_net model (" +
                       std::to_string(config.in_channels) + "x" +
                       std::to_string(config.image_size) + "x" + std::to_string(config.image_size) +
                       ", " + std::to_string(config.num_classes) + " classes)");
    }
  }
  if (options.epochs < 1 || options.batch_size < 1 || options.lr <= 0) {
    throw ModelError("invalid training options (epochs " + std::to_string(options.epochs) +
                     ", batch_size " + std::to_string(options.batch_size) + ")");
  }
  if (options.validation_size < 1 || options.validation_size >= train.count) {
    throw ModelError("validation_size " + std::to_string(options.validation_size) +
                     " must be in [1, " + std::to_string(train.count) + ")");
  }
  const int64_t train_end = train.count - options.validation_size;
  const int64_t n_train =
      options.max_train > 0 ? std::min(options.max_train, train_end) : train_end;
  const int64_t n_test = options.max_test > 0 ? std::min(options.max_test, test.count) : test.count;
  if (n_test < 1) throw ModelError("test set is empty");

  const double t0 = MonotonicSeconds();
  torch::manual_seed(static_cast<uint64_t>(options.seed));
  SkipNet model(config);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  const torch::Tensor images = ImagesTensor(train, 0, n_train);
  const torch::Tensor labels = LabelsTensor(train, 0, n_train);
  const int64_t batches = (n_train + options.batch_size - 1) / options.batch_size;
  const int64_t total_steps = options.epochs * batches;
  std::vector<int64_t> order(n_train);
  for (int64_t i = 0; i < n_train; ++i) order[i] = i;

  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    model->train();
    Shuffle(&order, &rng);
    const torch::Tensor perm = torch::tensor(order, torch::kInt64);
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t s = b * options.batch_size;
      auto idx = perm.slice(0, s, std::min(n_train, s + options.batch_size));
      auto x = images.index_select(0, idx);
      auto y = labels.index_select(0, idx);
      const int64_t step = epoch * batches + b;
      const bool warmup =
          static_cast<double>(step) < kWarmupShare * static_cast<double>(total_steps);
      optimizer.zero_grad();
      torch::Tensor loss;
      if (warmup) {
        std::vector<torch::Tensor> keep;
        for (int64_t j = 0; j < model->num_gates(); ++j) {
          keep.push_back((torch::rand({x.size(0)}) >= kDropProb).to(torch::kFloat32));
        }
        SkipNetPass pass = model->ForwardGated(x, nullptr, nullptr, &keep);
        loss = torch::nn::functional::cross_entropy(pass.logits, y);
      } else {
        SkipNetPass pass = model->ForwardGated(x);
        const torch::Tensor usage = GatedUsage(model, pass.masks).mean();
        loss = torch::nn::functional::cross_entropy(pass.logits, y) +
               kComputeWeight * torch::relu(usage - kTargetUsage);
      }
      loss.backward();
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
  model->eval();

  const EvalStats dyn = Evaluate(model, test, n_test, GateMode::kAuto);
  const EvalStats all = Evaluate(model, test, n_test, GateMode::kForceOn);
  const EvalStats none = Evaluate(model, test, n_test, GateMode::kForceOff);

  TrainedModel out;
  out.module = model.ptr();
  ModelMetadata& meta = out.meta;
  meta.name = options.name;
  meta.arch = "skip_net";
  meta.config.in_channels = config.in_channels;
  meta.config.image_size = config.image_size;
  meta.config.num_classes = config.num_classes;
  meta.config.channels.clear();
  meta.arch_config = config.ToArchConfig();
  meta.exit_flops = {model->full_flops()};
  meta.full_accuracy = dyn.accuracy;
  meta.stats = {{"acc_dynamic", dyn.accuracy},
                {"acc_all_blocks", all.accuracy},
                {"acc_no_gated_blocks", none.accuracy},
                {"skipped_block_flops_share", 1.0 - dyn.usage},
                {"mean_blocks_run", dyn.blocks_run},
                {"gated_blocks", static_cast<double>(model->num_gates())},
                {"full_flops", model->full_flops()}};
  meta.seed = options.seed;
  meta.epochs = options.epochs;
  meta.train_seconds = MonotonicSeconds() - t0;
  meta.created_at = IsoTime(WallSeconds());
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "test accuracy %.4f dynamic, %.4f all blocks on, %.4f gated blocks off; "
                "%.1f %% of gated-block FLOPs skipped; mean %.2f of %lld gated blocks run",
                dyn.accuracy, all.accuracy, none.accuracy, 100 * (1.0 - dyn.usage), dyn.blocks_run,
                static_cast<long long>(model->num_gates()));
  out.summary = buf;
  return out;
}

}  // namespace effrobust
