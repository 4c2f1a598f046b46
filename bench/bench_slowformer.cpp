// Prints SlowFormer's effect on a saved adaptive_vit model: clean and
// attacked token depth, FLOPs and accuracy on the first N test images, and
// the universal patch's fit time.
// Usage: bench_slowformer MODEL.pt [N=500] [key=value attack params...]
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "common/hash.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/victim_loader.h"

using namespace effrobust;

namespace {

struct Stats {
  double depth = 0, flops = 0, acc = 0;
};

Stats Measure(VictimModel& v, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  DynamicResult r = v.Measure(x, "");
  Stats s;
  const auto n = static_cast<double>(r.pred.size());
  for (size_t i = 0; i < r.pred.size(); ++i) {
    s.depth += r.metric[i] / n;
    s.flops += r.cost.flops[i] / n;
    s.acc += (r.pred[i] == y[static_cast<int64_t>(i)].item<int64_t>() ? 1.0 : 0.0) / n;
  }
  return s;
}

// Mean ponder cost per token position (blocks run, plus the remainder),
// printed as the token grid.
void PrintPonderGrid(VictimModel& v, const torch::Tensor& x, const char* title) {
  torch::NoGradGuard no_grad;
  torch::Tensor p = v.Forward(x).ponder.mean(0);
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(p.size(0)))));
  std::printf("%s: mean ponder cost per token\n", title);
  for (int64_t r = 0; r < side; ++r) {
    for (int64_t c = 0; c < side; ++c) std::printf(" %5.2f", p[r * side + c].item<double>());
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_slowformer MODEL.pt [N] [key=value...]\n");
    return 2;
  }
  const int64_t n = argc > 2 ? std::stoll(argv[2]) : 500;
  std::vector<std::pair<std::string, std::string>> given;
  for (int i = 3; i < argc; ++i) {
    std::string kv = argv[i];
    const auto eq = kv.find('=');
    given.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }
  LoadedVictim m = LoadVictim(argv[1], "fashion-mnist");
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  torch::Tensor x = ImagesTensor(test, 0, n), y = LabelsTensor(test, 0, n);
  auto attack = MakeAttack("slowformer", CompleteAttackParams("slowformer", given));
  const int64_t fit = attack->fit_samples();
  double fit_s = 0;
  if (fit > 0) {
    // Fitting images from the validation split (never trained on).
    const int64_t b = train.count - 5000;
    const double t0 = MonotonicSeconds();
    attack->Fit(*m.victim, ImagesTensor(train, b, b + fit), LabelsTensor(train, b, b + fit), 42);
    fit_s = MonotonicSeconds() - t0;
  }
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < n; ++i) seeds.push_back(MixSeed(42, static_cast<uint64_t>(i)));
  const double t1 = MonotonicSeconds();
  torch::Tensor adv = attack->Run(*m.victim, x, y, seeds);
  const double run_s = MonotonicSeconds() - t1;
  const Stats c = Measure(*m.victim, x, y), a = Measure(*m.victim, adv, y);
  PrintPonderGrid(*m.victim, x, "clean");
  PrintPonderGrid(*m.victim, adv, "attacked");
  std::printf("full FLOPs %.0f\n", m.victim->full_flops());
  std::printf("clean:    token_depth %.4f  FLOPs %.0f  accuracy %.4f\n", c.depth, c.flops, c.acc);
  std::printf("attacked: token_depth %.4f  FLOPs %.0f  accuracy %.4f\n", a.depth, a.flops, a.acc);
  std::printf("token-depth increase %.1f %% relative; fit %.1f s on %lld images; run %.1f s\n",
              100.0 * (a.depth / c.depth - 1.0), fit_s, static_cast<long long>(fit), run_s);
  return 0;
}
