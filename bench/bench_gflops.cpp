// How close the attack loops come to the machine (issue 8 section 2).
//  * Peak: a large float32 matrix multiply (torch::mm, N x N, 2 N^3 FLOPs)
//    on this machine with the same threads, repeated for at least a second.
//  * Per model family, the attack loop of the family's attack on a batch:
//    achieved GFLOP/s = counted FLOPs / seconds, where the FLOPs of one
//    iteration are 2 x the forward FLOPs of the batch: the forward plus the
//    input-gradient backward (parameters get no gradient, so each layer's
//    backward computes only its input gradient, the same multiply-adds as
//    its forward). Forward FLOPs are counted by the LibTorch profiler's
//    analytic formulas (conv2d, mm/addmm/bmm, mul, add from the input
//    shapes), and for the D1 families also by our own cost meters
//    (full_flops()), printed side by side as a cross-check. Element-wise
//    work that the formulas do not cover (activations, softmax, the attack's
//    own update) is not counted, so the figure is a lower bound.
//  * Captioner: the decoder's per-step FLOPs (forward of one greedy decoding
//    / its steps) x the steps the attack's decodings ran (batch_steps).
// Asserts nothing; prints one line per family.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "attacks/d2_params.h"
#include "attacks/nicg_slowdown.h"
#include "attacks/overload.h"
#include "common/host_allocator.h"
#include "common/log.h"
#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "data/tensor_view.h"
#include "models/captioner_trainer.h"
#include "models/detector_trainer.h"
#include "models/victim_loader.h"

namespace effrobust {
namespace {

constexpr char kUsage[] =
    "usage: bench_gflops [--models DIR] [--threads T] [--batch B] [--iterations I] [--peak-n N]\n"
    "  --models DIR      where sdn-fmnist.pt, skipnet-fmnist.pt, avit-fmnist.pt, "
    "captioner-lstm.pt\n"
    "                    and detector-fmnist.pt are (default runs/models; missing ones are "
    "skipped)\n"
    "  --threads T       torch intra-op threads (default 1: what each of two workers gets here)\n"
    "  --batch B         samples per attack batch (default 64)\n"
    "  --iterations I    attack iterations (default 10)\n"
    "  --peak-n N        side of the peak matmul (default 2048)\n";

// FLOPs the profiler's formulas count for what `fn` runs.
double ProfiledFlops(const std::function<void()>& fn) {
  using torch::profiler::impl::ProfilerConfig;
  using torch::profiler::impl::ProfilerState;
  torch::autograd::profiler::enableProfilerLegacy(
      ProfilerConfig(ProfilerState::CPU, /*report_input_shapes=*/true, /*profile_memory=*/false,
                     /*with_stack=*/false, /*with_flops=*/true));
  fn();
  auto lists = torch::autograd::profiler::disableProfilerLegacy();
  double flops = 0;
  for (auto& list : lists) {
    for (auto& e : list) flops += static_cast<double>(e.flops());
  }
  return flops;
}

double PeakGflops(int64_t n) {
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::rand({n, n}), b = torch::rand({n, n});
  torch::mm(a, b);  // warm-up
  int64_t reps = 0;
  const double t0 = MonotonicSeconds();
  double s = 0;
  do {
    torch::mm(a, b);
    ++reps;
    s = MonotonicSeconds() - t0;
  } while (s < 1.0);
  return 2.0 * n * n * n * reps / s / 1e9;
}

std::vector<uint64_t> Seeds(int64_t n) {
  std::vector<uint64_t> s(n);
  for (int64_t i = 0; i < n; ++i) s[i] = static_cast<uint64_t>(i);
  return s;
}

void Report(const std::string& family, const std::string& attack, double fwd_per_sample,
            double meter_per_sample, double flops, double seconds, double peak) {
  const double gflops = flops / seconds / 1e9;
  std::printf(
      "%-13s %-13s forward %8.2f MFLOP/sample (cost meter %s)  attack loop %6.2f s  "
      "%6.2f GFLOP/s = %4.1f %% of peak\n",
      family.c_str(), attack.c_str(), fwd_per_sample / 1e6,
      meter_per_sample > 0 ? (std::to_string(meter_per_sample / 1e6).substr(0, 6) + " M").c_str()
                           : "n/a",
      seconds, gflops, 100 * gflops / peak);
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

int Main(int argc, char** argv) {
  std::string dir = "runs/models";
  int threads = 1;
  int64_t batch = 64, iterations = 10, peak_n = 2048;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--models")
      dir = next();
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--batch")
      batch = std::stoll(next());
    else if (a == "--iterations")
      iterations = std::stoll(next());
    else if (a == "--peak-n")
      peak_n = std::stoll(next());
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else
      throw std::invalid_argument("unknown argument '" + a + "'\n" + kUsage);
  }
  SetLogQuiet(true);
  torch::set_num_threads(threads);
  const double peak = PeakGflops(peak_n);
  std::printf("peak: torch::mm %lld x %lld float32, %d thread(s): %.1f GFLOP/s\n",
              static_cast<long long>(peak_n), static_cast<long long>(peak_n), threads, peak);
  std::printf(
      "attack loops: batch %lld, %lld iterations, %d thread(s); FLOPs = 2 x forward "
      "(forward + input-gradient backward)\n",
      static_cast<long long>(batch), static_cast<long long>(iterations), threads);

  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  const torch::Tensor x = ImagesTensor(test, 0, batch), y = LabelsTensor(test, 0, batch);
  const std::vector<uint64_t> seeds = Seeds(batch);
  const std::vector<std::string> d1 = {"sdn-fmnist.pt", "skipnet-fmnist.pt", "avit-fmnist.pt"};
  const std::vector<std::string> preferred = {"deepsloth", "ilfo", "sponge"};
  for (const std::string& file : d1) {
    const std::string path = dir + "/" + file;
    if (!Exists(path)) {
      std::printf("%-13s skipped: no %s\n", file.c_str(), path.c_str());
      continue;
    }
    LoadedVictim m = LoadVictim(path, "fashion-mnist");
    std::string attack_name;
    for (const auto& name : preferred) {
      if (AttackTargetsFamily(name, m.victim->family())) {
        attack_name = name;
        break;
      }
    }
    if (attack_name.empty()) continue;
    double fwd = 0;
    {
      torch::NoGradGuard no_grad;
      fwd = ProfiledFlops([&] { m.victim->Forward(x); }) / batch;
    }
    auto attack =
        MakeAttack(attack_name,
                   CompleteAttackParams(attack_name, {{"iterations", std::to_string(iterations)}}));
    attack->Run(*m.victim, x.slice(0, 0, 2), y.slice(0, 0, 2), Seeds(2));  // warm-up
    const double t0 = MonotonicSeconds();
    attack->Run(*m.victim, x, y, seeds);
    const double s = MonotonicSeconds() - t0;
    Report(m.victim->family(), attack_name, fwd, m.victim->full_flops(),
           2.0 * fwd * batch * iterations, s, peak);
  }

  SceneGenerator generator(test, SceneSplitSeed("test"));
  const torch::Tensor scenes = SceneImages(MakeScenes(generator, 0, batch));
  const std::string captioner_path = dir + "/captioner-lstm.pt";
  if (Exists(captioner_path)) {
    LoadedCaptioner c = LoadCaptioner(captioner_path);
    NicgSlowDownOptions o = NicgSlowDownOptionsFromParams(CompleteAttackParams("nicgslowdown", {}));
    o.iterations = iterations;
    double per_step = 0;
    {
      torch::NoGradGuard no_grad;
      GreedyResult g;
      const double f = ProfiledFlops([&] { g = c.model->Greedy(scenes, o.max_len); });
      per_step = f / (static_cast<double>(batch) * g.logits.size(1));
    }
    NicgSlowDown(c.model, scenes.slice(0, 0, 2), o);  // warm-up
    const double t0 = MonotonicSeconds();
    NicgSlowDownResult r = NicgSlowDown(c.model, scenes, o);
    const double s = MonotonicSeconds() - t0;
    Report("captioning", "nicgslowdown", per_step, 0,
           2.0 * per_step * static_cast<double>(r.batch_steps) * batch, s, peak);
    std::printf(
        "%-13s (forward per decoder step incl. the encoder's share; %lld decoder steps "
        "per sample over the attack)\n",
        "", static_cast<long long>(r.batch_steps));
  } else {
    std::printf("%-13s skipped: no %s\n", "captioning", captioner_path.c_str());
  }

  const std::string detector_path = dir + "/detector-fmnist.pt";
  if (Exists(detector_path)) {
    LoadedDetector d = LoadDetector(detector_path);
    double fwd = 0;
    {
      torch::NoGradGuard no_grad;
      fwd = ProfiledFlops([&] { d.model->Forward(scenes); }) / batch;
    }
    OverloadOptions o;
    o.iterations = iterations;
    Overload(d.model, scenes.slice(0, 0, 2), o);  // warm-up
    const double t0 = MonotonicSeconds();
    Overload(d.model, scenes, o);
    const double s = MonotonicSeconds() - t0;
    Report("detection", "overload", fwd, 0, 2.0 * fwd * batch * iterations, s, peak);
  } else {
    std::printf("%-13s skipped: no %s\n", "detection", detector_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace effrobust

int main(int argc, char** argv) {
  effrobust::TuneHostAllocator();  // as the effrobust binary does
  try {
    return effrobust::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gflops: %s\n", e.what());
    return 1;
  }
}
