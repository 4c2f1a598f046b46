// How well can any captioner name the items of a scene? Trains a plain CNN
// classifier on the items exactly as scenes show them (Fashion-MNIST resized
// to the scene item size by the scene generator, cropped out of one-item
// scenes: perfect localisation, no decoder) for a wall-clock budget, and
// prints its test accuracy p per item and the resulting ceiling on the
// share of scenes whose whole item multiset is right, mean over k = 1..5 of
// p^k (the generator draws 1..5 items uniformly). The captioner's
// multiset accuracy cannot beat this ceiling by much unless it classifies
// items better than a dedicated classifier trained as long.
// Usage: bench_item_ceiling [SECONDS=600] [THREADS=2] [TRAIN_ITEMS=60000]
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"

using namespace effrobust;

namespace {

// Items [n, 1, s, s] in [0, 1] and labels [n]: the item of one-item scene i.
std::pair<torch::Tensor, torch::Tensor> Items(const ImageSet& source, uint64_t seed, int64_t n) {
  SceneOptions o;
  o.min_items = o.max_items = 1;
  SceneGenerator gen(source, seed, o);
  const int64_t s = o.item_size;
  torch::Tensor x = torch::empty({n, 1, s, s});
  torch::Tensor y = torch::empty({n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    Scene scene = gen.Make(i);
    const SceneItem& it = scene.items[0];
    auto a = x.accessor<float, 4>();
    for (int64_t r = 0; r < s; ++r) {
      for (int64_t c = 0; c < s; ++c) {
        a[i][0][r][c] =
            scene.pixels[static_cast<size_t>((it.cell.y0 + r) * scene.size + it.cell.x0 + c)] /
            255.0f;
      }
    }
    y[i] = it.label;
  }
  return {x, y};
}

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t s) {
    namespace nn = torch::nn;
    auto conv = [](int64_t in, int64_t out) {
      return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
    };
    body = register_module(
        "body", nn::Sequential(conv(1, 32), nn::BatchNorm2d(32), nn::ReLU(), conv(32, 32),
                               nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(2), conv(32, 64),
                               nn::BatchNorm2d(64), nn::ReLU(), conv(64, 64), nn::BatchNorm2d(64),
                               nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Dropout(0.3),
                               nn::Linear(64 * (s / 4) * (s / 4), 128), nn::ReLU(),
                               nn::Dropout(0.3), nn::Linear(128, 10)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return body->forward(x); }
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(Net);

double Accuracy(Net& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  net->eval();
  int64_t right = 0;
  for (int64_t b = 0; b < x.size(0); b += 1000) {
    const int64_t e = std::min(x.size(0), b + 1000);
    right += net->forward(x.slice(0, b, e)).argmax(1).eq(y.slice(0, b, e)).sum().item<int64_t>();
  }
  net->train();
  return static_cast<double>(right) / static_cast<double>(x.size(0));
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::stod(argv[1]) : 600;
  torch::set_num_threads(argc > 2 ? std::stoi(argv[2]) : 2);
  const int64_t n_train = argc > 3 ? std::stoll(argv[3]) : 60000;
  ImageSet train_set = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  ImageSet test_set = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  auto [x, y] = Items(train_set, kSceneTrainSeed, n_train);
  auto [tx, ty] = Items(test_set, kSceneTestSeed, 10000);
  torch::manual_seed(1);
  Net net(x.size(2));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  const double t0 = MonotonicSeconds();
  std::mt19937_64 rng(1);
  double p = 0, best = 0;
  int64_t epoch = 0;
  while (MonotonicSeconds() - t0 < budget) {
    torch::Tensor perm = torch::randperm(x.size(0));
    for (int64_t b = 0; b < x.size(0) && MonotonicSeconds() - t0 < budget; b += 128) {
      torch::Tensor idx = perm.slice(0, b, std::min(x.size(0), b + 128));
      torch::Tensor xb = x.index_select(0, idx);
      // Random shifts of up to 2 pixels (the scene shows items at any offset).
      const int64_t dx = static_cast<int64_t>(rng() % 5) - 2,
                    dy = static_cast<int64_t>(rng() % 5) - 2;
      xb = torch::roll(xb, {dy, dx}, {2, 3});
      opt.zero_grad();
      torch::Tensor loss =
          torch::nn::functional::cross_entropy(net->forward(xb), y.index_select(0, idx));
      loss.backward();
      opt.step();
    }
    ++epoch;
    p = Accuracy(net, tx, ty);
    best = std::max(best, p);
    std::printf("epoch %lld  %.0f s  test accuracy per item %.4f\n", static_cast<long long>(epoch),
                MonotonicSeconds() - t0, p);
    std::fflush(stdout);
  }
  auto ceiling = [](double q) {
    double c = 0;
    for (int k = 1; k <= 5; ++k) c += std::pow(q, k) / 5;
    return c;
  };
  std::printf(
      "items %lldx%lld, %lld train items, %.0f s: per item last %.4f best %.4f -> "
      "multiset ceiling (1..5 items uniform) last %.4f best %.4f\n",
      static_cast<long long>(x.size(2)), static_cast<long long>(x.size(3)),
      static_cast<long long>(n_train), MonotonicSeconds() - t0, p, best, ceiling(p), ceiling(best));
  return 0;
}
