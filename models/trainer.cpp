#include "models/trainer.h"

#include <random>
#include <string>

#include "common/error.h"
#include "common/log.h"
#include "data/tensor_view.h"
#include "evaluation/early_exit.h"

namespace effrobust {

namespace {

constexpr int64_t kEvalBatch = 1000;
constexpr int64_t kProgressEvery = 50;

// Fisher-Yates with our own index draw, so the order depends only on the
// seed (std::shuffle / uniform_int_distribution are library-specific).
void Shuffle(std::vector<int64_t>* v, std::mt19937_64* rng) {
  for (size_t i = v->size(); i > 1; --i) {
    const size_t j = static_cast<size_t>((*rng)() % i);
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

void CheckShape(const ImageSet& set, const MultiExitConfig& c, const std::string& which) {
  if (set.channels != c.in_channels || set.height != c.image_size ||
      set.width != c.image_size || set.num_classes != c.num_classes) {
    throw ModelError(which + " set shape " + std::to_string(set.channels) + "x" +
                     std::to_string(set.height) + "x" + std::to_string(set.width) + " with " +
                     std::to_string(set.num_classes) + " classes does not match the model (" +
                     std::to_string(c.in_channels) + "x" + std::to_string(c.image_size) + "x" +
                     std::to_string(c.image_size) + ", " + std::to_string(c.num_classes) +
                     " classes)");
  }
}

// Confidence and correctness of every exit for images [begin, end).
ExitObservations Observe(MultiExitCnn& model, const ImageSet& set, int64_t begin, int64_t end) {
  torch::NoGradGuard no_grad;
  ExitObservations obs;
  for (int64_t b = begin; b < end; b += kEvalBatch) {
    const int64_t e = std::min(end, b + kEvalBatch);
    auto x = ImagesTensor(set, b, e);
    auto y = LabelsTensor(set, b, e);
    auto outs = model->ForwardAll(x);
    const int64_t n = e - b;
    const size_t k = outs.size();
    std::vector<torch::Tensor> conf(k), correct(k);
    for (size_t i = 0; i < k; ++i) {
      auto probs = torch::softmax(outs[i], 1);
      auto [maxp, arg] = probs.max(1);
      conf[i] = maxp.to(torch::kFloat64).contiguous();
      correct[i] = arg.eq(y).contiguous();
    }
    for (int64_t s = 0; s < n; ++s) {
      std::vector<double> c(k);
      std::vector<bool> ok(k);
      for (size_t i = 0; i < k; ++i) {
        c[i] = conf[i].data_ptr<double>()[s];
        ok[i] = correct[i].data_ptr<bool>()[s];
      }
      obs.confidence.push_back(std::move(c));
      obs.correct.push_back(std::move(ok));
    }
  }
  return obs;
}

}  // namespace

TrainResult TrainMultiExit(const ImageSet& train, const ImageSet& test,
                           const TrainOptions& options) {
  const MultiExitConfig& cfg = options.config;
  CheckShape(train, cfg, "training");
  CheckShape(test, cfg, "test");
  if (options.epochs < 1 || options.batch_size < 1 || options.lr <= 0) {
    throw ModelError("invalid training options (epochs " + std::to_string(options.epochs) +
                     ", batch_size " + std::to_string(options.batch_size) + ")");
  }
  if (options.validation_size < 1 || options.validation_size >= train.count) {
    throw ModelError("validation_size " + std::to_string(options.validation_size) +
                     " must be in [1, " + std::to_string(train.count) + ")");
  }
  const int64_t train_end_full = train.count - options.validation_size;
  const int64_t n_train =
      options.max_train > 0 ? std::min(options.max_train, train_end_full) : train_end_full;
  const int64_t n_test = options.max_test > 0 ? std::min(options.max_test, test.count) : test.count;
  if (n_test < 1) throw ModelError("test set is empty");

  const double t0 = MonotonicSeconds();
  torch::manual_seed(static_cast<uint64_t>(options.seed));
  MultiExitCnn model(cfg);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));

  const torch::Tensor images = ImagesTensor(train, 0, n_train);
  const torch::Tensor labels = LabelsTensor(train, 0, n_train);
  const int64_t batches = (n_train + options.batch_size - 1) / options.batch_size;
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
      const int64_t e = std::min(n_train, s + options.batch_size);
      auto idx = perm.slice(0, s, e);
      auto x = images.index_select(0, idx);
      auto y = labels.index_select(0, idx);
      optimizer.zero_grad();
      // Joint training, SDN-style weights: the final exit has weight 1; IC i
      // has weight min(tau_i, 0.01 + tau_i * progress), tau_i = min(0.9,
      // 0.15 * (i + 1)), progress = fraction of training done, so the
      // backbone first learns for the final classifier and the ICs' share
      // grows over training.
      const double progress =
          static_cast<double>(epoch * batches + b) / static_cast<double>(options.epochs * batches);
      const BatchLoss loss_of = [&](const torch::Tensor& images_in) {
        auto outs = model->ForwardAll(images_in);
        torch::Tensor sum = torch::zeros({});
        for (size_t i = 0; i < outs.size(); ++i) {
          double w = 1.0;
          if (i + 1 < outs.size()) {
            const double tau = std::min(0.9, 0.15 * static_cast<double>(i + 1));
            w = std::min(tau, 0.01 + tau * progress);
          }
          sum = sum + w * torch::nn::functional::cross_entropy(outs[i], y);
        }
        return sum;
      };
      torch::Tensor loss = options.adversarial ? options.adversarial(*model, x, loss_of) : loss_of(x);
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
  // Drop the last step's gradients: the returned model holds none.
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  model->eval();

  TrainResult result;
  ModelMetadata& meta = result.meta;
  meta.name = options.name;
  meta.config = cfg;
  meta.seed = options.seed;
  meta.epochs = options.epochs;
  meta.exit_flops = model->ExitFlops();
  std::vector<double> relative_cost;
  for (double f : meta.exit_flops) relative_cost.push_back(f / meta.exit_flops.back());

  // Thresholds on the held-out validation split.
  ExitObservations val = Observe(model, train, train_end_full, train.count);
  for (const auto& [key, rad] : {std::pair<std::string, double>{"rad5", 0.05}, {"rad15", 0.15}}) {
    ThresholdChoice choice = SelectThreshold(val, relative_cost, rad);
    meta.thresholds[key] = choice.q;
    meta.threshold_val_accuracy[key] = choice.accuracy;
  }

  // Per-exit test accuracy.
  ExitObservations tst = Observe(model, test, 0, n_test);
  const size_t k = meta.exit_flops.size();
  meta.exit_accuracy.assign(k, 0.0);
  for (const auto& row : tst.correct) {
    for (size_t i = 0; i < k; ++i) meta.exit_accuracy[i] += row[i] ? 1.0 : 0.0;
  }
  for (double& a : meta.exit_accuracy) a /= static_cast<double>(tst.correct.size());
  meta.full_accuracy = meta.exit_accuracy.back();
  meta.train_seconds = MonotonicSeconds() - t0;
  meta.created_at = IsoTime(WallSeconds());
  result.model = model;
  return result;
}

}  // namespace effrobust
