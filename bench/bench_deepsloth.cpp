// DeepSloth attack throughput on the multi-exit CNN: samples x iterations
// per second for the L-inf attack (eps 8/255, step 0.002), batch 250.
// Run: build/bench/bench_deepsloth [MODEL] [SAMPLES] [THREADS]
// MODEL defaults to runs/models/sdn-fmnist.pt (train it with `effrobust train`).
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/tensor_view.h"
#include "models/victim_loader.h"

int main(int argc, char** argv) {
  using namespace effrobust;
  const std::string path = argc > 1 ? argv[1] : "runs/models/sdn-fmnist.pt";
  const int64_t samples = argc > 2 ? std::atoll(argv[2]) : 500;
  const int threads = argc > 3 ? std::atoi(argv[3]) : static_cast<int>(std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  LoadedVictim m = LoadVictim(path, "fashion-mnist");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  torch::Tensor x = ImagesTensor(test, 0, samples), y = LabelsTensor(test, 0, samples);
  ParamMap params = CompleteAttackParams("deepsloth", {});
  const int iterations = static_cast<int>(std::get<double>(params.at("iterations")));
  auto attack = MakeAttack("deepsloth", params);
  const int64_t bs = 250;
  // Warm-up on one small batch.
  attack->Run(*m.victim, x.slice(0, 0, 8), y.slice(0, 0, 8), std::vector<uint64_t>(8, 1));
  const double t0 = MonotonicSeconds();
  for (int64_t b = 0; b < samples; b += bs) {
    const int64_t e = std::min(samples, b + bs);
    std::vector<uint64_t> seeds(e - b);
    for (int64_t i = b; i < e; ++i) seeds[i - b] = static_cast<uint64_t>(i);
    attack->Run(*m.victim, x.slice(0, b, e), y.slice(0, b, e), seeds);
  }
  const double secs = MonotonicSeconds() - t0;
  std::printf("bench_deepsloth: %lld samples x %d iterations in %.2f s on %d thread(s): "
              "%.1f samples/s, %.0f sample-iterations/s\n",
              static_cast<long long>(samples), iterations, secs, threads, samples / secs,
              samples * iterations / secs);
  return 0;
}
