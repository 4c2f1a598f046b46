// Skip-gate attacks (ILFO, GradMDM) against a trained SkipNet: clean and
// adversarial mean blocks run, FLOPs and accuracy, the recovered share of
// the saved FLOPs (FLOPs_adv - FLOPs_clean) / (FLOPs_full - FLOPs_clean),
// and the attack time per sample, on the first SAMPLES test images, batch 100.
// Run: build/bench/bench_skip_gate [MODEL] [SAMPLES] [THREADS] [ATTACK [key=value ...]]
// MODEL defaults to runs/models/skipnet-fmnist.pt (`effrobust train --arch skip_net`);
// without ATTACK both attacks run with their catalog defaults.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <thread>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/victim_loader.h"

namespace {

using namespace effrobust;

struct Figures {
  double blocks = 0, flops = 0, accuracy = 0;
};

Figures Measure(VictimModel& victim, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  DynamicResult r = victim.Measure(x, "");
  Figures f;
  const double n = static_cast<double>(r.pred.size());
  f.blocks = std::accumulate(r.metric.begin(), r.metric.end(), 0.0) / n;
  f.flops = std::accumulate(r.cost.flops.begin(), r.cost.flops.end(), 0.0) / n;
  for (size_t i = 0; i < r.pred.size(); ++i)
    f.accuracy += r.pred[i] == y[i].item<int64_t>() ? 1 : 0;
  f.accuracy /= n;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "runs/models/skipnet-fmnist.pt";
  const int64_t samples = argc > 2 ? std::atoll(argv[2]) : 500;
  const int threads =
      argc > 3 ? std::atoi(argv[3]) : static_cast<int>(std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  LoadedVictim m = LoadVictim(path, "fashion-mnist");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  torch::Tensor x = ImagesTensor(test, 0, samples), y = LabelsTensor(test, 0, samples);
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> runs;
  if (argc > 4) {
    std::vector<std::pair<std::string, std::string>> given;
    for (int i = 5; i < argc; ++i) {
      const std::string kv = argv[i];
      const auto eq = kv.find('=');
      given.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    runs.emplace_back(argv[4], given);
  } else {
    runs = {{"ilfo", {}}, {"gradmdm", {}}};
  }
  const double full = m.victim->full_flops();
  const Figures clean = Measure(*m.victim, x, y);
  std::printf("clean: blocks_run %.3f  FLOPs %.0f (full %.0f, %.1f %%)  accuracy %.4f\n",
              clean.blocks, clean.flops, full, 100 * clean.flops / full, clean.accuracy);
  for (const auto& [name, given] : runs) {
    auto attack = MakeAttack(name, CompleteAttackParams(name, given));
    const int64_t bs = 100;
    std::vector<torch::Tensor> parts;
    const double t0 = MonotonicSeconds();
    for (int64_t b = 0; b < samples; b += bs) {
      const int64_t e = std::min(samples, b + bs);
      std::vector<uint64_t> seeds(e - b);
      for (int64_t i = b; i < e; ++i) seeds[i - b] = static_cast<uint64_t>(i);
      parts.push_back(attack->Run(*m.victim, x.slice(0, b, e), y.slice(0, b, e), seeds));
    }
    const double seconds = MonotonicSeconds() - t0;
    const Figures adv = Measure(*m.victim, torch::cat(parts), y);
    std::string shown;
    for (const auto& [k, v] : given) shown += " " + k + "=" + v;
    std::printf(
        "%s%s: blocks_run %.3f  FLOPs %.0f  recovered %.1f %%  accuracy %.4f  "
        "%.1f ms/sample (%d threads)\n",
        name.c_str(), shown.c_str(), adv.blocks, adv.flops,
        100 * (adv.flops - clean.flops) / (full - clean.flops), adv.accuracy,
        1e3 * seconds / static_cast<double>(samples), threads);
  }
  return 0;
}
