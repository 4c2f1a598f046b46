// Runs NICGSlowDown on a saved captioner (bench_captioner's OUT or
// `effrobust train --arch captioner`) over test scenes and prints decoder
// steps clean and adversarial, mean/max I-Loops and the budget used: the
// numbers behind the attack's defaults.
// Usage: bench_nicg MODEL.pt [SCENES=50] [NORM=l2] [BUDGET] [LR=0.01]
//                   [ITERATIONS=100] [THREADS=1]
// SHOW=1 in the environment also prints each clean and adversarial caption.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attacks/nicg_slowdown.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "models/captioner_trainer.h"
#include "models/checkpoint.h"

using namespace effrobust;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: bench_nicg MODEL.pt [SCENES] [NORM] [BUDGET] [LR] [ITERATIONS] [THREADS]\n");
    return 2;
  }
  const int64_t n = argc > 2 ? std::stoll(argv[2]) : 50;
  NicgSlowDownOptions o;
  o.norm = argc > 3 ? argv[3] : "l2";
  o.budget = argc > 4 ? std::stod(argv[4]) : (o.norm == "l2" ? 1.0 : 0.03);
  o.lr = argc > 5 ? std::stod(argv[5]) : 0.01;
  o.iterations = argc > 6 ? std::stoll(argv[6]) : 100;
  torch::set_num_threads(argc > 7 ? std::stoi(argv[7]) : 1);

  LoadedCaptioner loaded = LoadCaptioner(argv[1]);
  Captioner model = loaded.model;
  const CaptionerConfig& cfg = model->config();
  o.max_len = loaded.max_len;

  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  SceneGenerator gen(test, 2);
  std::vector<Scene> scenes;
  for (int64_t i = 0; i < n; ++i) scenes.push_back(gen.Make(i));
  torch::Tensor x = SceneImages(scenes);
  const double t0 = MonotonicSeconds();
  NicgSlowDownResult r = NicgSlowDown(model, x, o);
  const double seconds = MonotonicSeconds() - t0;
  std::vector<int64_t> clean;
  {
    torch::NoGradGuard no_grad;
    GreedyResult g = model->Greedy(x, o.max_len);
    clean = g.steps;
    if (std::getenv("SHOW") != nullptr) {
      GreedyResult a = model->Greedy(r.images, o.max_len);
      for (int64_t i = 0; i < n; ++i) {
        std::printf("%2lld  %s\n -> %s\n", static_cast<long long>(i),
                    loaded.vocab.Decode(g.tokens[i]).c_str(),
                    loaded.vocab.Decode(a.tokens[i]).c_str());
      }
    }
  }
  double mean_clean = 0, mean_adv = 0, mean_loops = 0, max_loops = 0, mean_dist = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double loops = static_cast<double>(r.steps[i] + 1) / static_cast<double>(clean[i] + 1) - 1;
    mean_clean += static_cast<double>(clean[i]) / n;
    mean_adv += static_cast<double>(r.steps[i]) / n;
    mean_loops += loops / n;
    max_loops = std::max(max_loops, loops);
    mean_dist += r.distance[i] / n;
  }
  std::printf("%s %s budget %g lr %g iterations %lld on %lld scenes: steps %.2f -> %.2f, "
              "I-Loops mean %.3f max %.3f, mean distance %.4f, %.1f s\n",
              cfg.cell.c_str(), o.norm.c_str(), o.budget, o.lr,
              static_cast<long long>(o.iterations), static_cast<long long>(n), mean_clean, mean_adv,
              mean_loops, max_loops, mean_dist, seconds);
  return 0;
}
