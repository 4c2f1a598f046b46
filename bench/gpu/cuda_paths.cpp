// bench_cuda --cuda-paths: runs every D1 family's attacks and the cost
// meters' inference once, on a small batch, on the CPU and (if LibTorch sees
// one) on CUDA device 0, to catch tensors made on the wrong device (a CPU
// tensor combined with CUDA ones throws, a CUDA tensor read through
// data_ptr on the host crashes). Same weights on both devices (trained
// checkpoints from --models DIR where present, else random with a fixed
// seed), same inputs, same seeds.
//
// Per path and device: "PATH name=... device=... status=pass|FAIL" with the
// checks (output on the input's device, finite, in [0, 1], within budget).
// Attack outputs from either device are then measured on the CPU model
// (executed-FLOPs share of the full network, the family's metric, energy),
// and the CPU- and CUDA-crafted results are compared: sign and Adam steps
// amplify rounding differences, so pixels need not match, but the objective
// reached should (|FLOPs share difference| <= kShareTolerance).
//
// Environment: BENCH_PATHS / BENCH_SKIP_PATHS, comma-separated substrings of
// path names to run only / to leave out (a path that crashes the process,
// e.g. a CUDA pointer read on the host, can then be run on its own).
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attacks/attack.h"
#include "attacks/catalog.h"
#include "models/adaptive_vit.h"
#include "models/adaptive_vit_victim.h"
#include "models/multi_exit_cnn.h"
#include "models/multi_exit_victim.h"
#include "models/skip_net.h"
#include "models/skip_net_victim.h"

namespace effrobust {
namespace bench {

namespace {

constexpr double kShareTolerance = 0.05;

bool Load(torch::nn::Module& m, const std::string& dir, const std::string& file) {
  if (dir.empty()) return false;
  const std::string path = dir + "/" + file;
  std::ifstream probe(path);
  if (!probe) return false;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    m.load(archive);
    return true;
  } catch (const std::exception& e) {
    std::printf("note: could not load %s (%s); random weights\n", path.c_str(), e.what());
    return false;
  }
}

// One victim of each family per device, identical weights.
struct Family {
  std::string name, point;
  std::unique_ptr<VictimModel> victim;
  bool trained = false;
};

Family MakeFamily(const std::string& name, const std::string& models, const torch::Device& dev) {
  Family f;
  f.name = name;
  if (name == "early_exit") {
    torch::manual_seed(1);
    MultiExitCnn m{MultiExitConfig()};
    f.trained = Load(*m, models, "sdn-fmnist.pt");
    m->eval();
    m->to(dev);
    f.point = "rad5";
    f.victim = std::make_unique<MultiExitVictim>(m, std::map<std::string, double>{{"rad5", 0.65}});
  } else if (name == "skip_gate") {
    torch::manual_seed(5);
    SkipNet m{SkipNetConfig()};
    f.trained = Load(*m, models, "skipnet-fmnist.pt");
    m->eval();
    m->to(dev);
    f.victim = std::make_unique<SkipNetVictim>(m);
  } else {
    torch::manual_seed(6);
    AdaptiveVit m{AdaptiveVitConfig()};
    f.trained = Load(*m, models, "avit-fmnist.pt");
    m->eval();
    m->to(dev);
    f.victim = std::make_unique<AdaptiveVitVictim>(m);
  }
  return f;
}

struct Measured {
  double share = NAN, metric = NAN, energy = NAN;
};

Measured MeasureMean(VictimModel& v, const torch::Tensor& x, const std::string& point) {
  torch::NoGradGuard ng;
  DynamicResult r = v.Measure(x, point);
  Measured m{0, 0, 0};
  const double n = static_cast<double>(r.metric.size());
  for (size_t i = 0; i < r.metric.size(); ++i) {
    m.share += r.cost.flops[i] / v.full_flops() / n;
    m.metric += r.metric[i] / n;
    m.energy += r.cost.energy_pj[i] / n;
  }
  return m;
}

// Inputs: smooth random images in [0, 1] (seeded, on the CPU).
torch::Tensor Images(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor x = torch::rand({n, 1, 7, 7}, gen, torch::kFloat32);
  return torch::upsample_bilinear2d(x, {28, 28}, false).clamp(0.0, 1.0).contiguous();
}

std::vector<uint64_t> Seeds(int64_t n) {
  std::vector<uint64_t> s(n);
  for (int64_t i = 0; i < n; ++i) s[i] = 1000 + static_cast<uint64_t>(i);
  return s;
}

struct Outcome {
  bool ok = false;
  std::string detail;       // checks or the error
  torch::Tensor adv;        // attack output on the CPU (attacks only)
  std::vector<double> values;  // inference outputs to compare across devices
};

struct PathSpec {
  std::string name, family;
  // Runs the path on `f` (whose victim is on `dev`); fills Outcome.
  std::function<Outcome(Family& f, const torch::Device& dev)> run;
  bool attack = false;
};

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// An attack path: optional Fit on 16 images, Run on `batch` images; checks
// device, finiteness, box and budget (norm "linf"/"l2" with eps, or "patch"
// with the maximum number of changed pixels per sample).
PathSpec AttackPath(const std::string& name, const std::string& family, const std::string& attack,
                    std::vector<std::pair<std::string, std::string>> given, int64_t batch,
                    std::string budget_norm, double budget) {
  PathSpec p;
  p.name = name;
  p.family = family;
  p.attack = true;
  p.run = [=](Family& f, const torch::Device& dev) {
    Outcome o;
    ParamMap params = CompleteAttackParams(attack, given);
    auto a = MakeAttack(attack, params);
    torch::Tensor x = Images(batch, 11).to(dev);
    torch::Tensor y = torch::zeros({batch}, torch::kInt64).to(dev);
    if (a->fit_samples() > 0) {
      torch::Tensor xf = Images(16, 12).to(dev);
      torch::Tensor yf = torch::zeros({16}, torch::kInt64).to(dev);
      a->Fit(*f.victim, xf, yf, 7);
    }
    torch::Tensor adv = a->Run(*f.victim, x, y, Seeds(batch));
    if (dev.is_cuda()) torch::cuda::synchronize();
    torch::Tensor d = (adv - x).detach();
    const bool on_dev = adv.device() == x.device();
    const bool finite = torch::isfinite(adv).all().item<bool>();
    const bool box = adv.min().item<double>() >= 0 && adv.max().item<double>() <= 1;
    double used = 0;
    bool within = true;
    if (budget_norm == "linf") {
      used = d.abs().max().item<double>();
      within = used <= budget + 1e-6;
    } else if (budget_norm == "l2") {
      used = d.flatten(1).norm(2, 1).max().item<double>();
      within = used <= budget + 1e-4;
    } else {
      used = d.ne(0).flatten(1).sum(1).max().item<double>();
      within = used <= budget;
    }
    o.ok = on_dev && finite && box && within;
    o.detail = std::string("output_on=") + adv.device().str() + " finite=" +
               (finite ? "yes" : "NO") + " in_box=" + (box ? "yes" : "NO") + " budget_" +
               budget_norm + "=" + Fmt("%.4g", used) + "/" + Fmt("%.4g", budget) +
               (within ? "" : "(EXCEEDED)");
    o.adv = adv.detach().cpu();
    return o;
  };
  return p;
}

// Cost-meter path: Measure on a batch of 8; values = per-sample metric and
// FLOPs share, to compare across devices.
PathSpec MeasurePath(const std::string& family) {
  PathSpec p;
  p.name = family + "/measure";
  p.family = family;
  p.run = [](Family& f, const torch::Device& dev) {
    Outcome o;
    torch::NoGradGuard ng;
    torch::Tensor x = Images(8, 21).to(dev);
    DynamicResult r = f.victim->Measure(x, f.point);
    for (size_t i = 0; i < r.metric.size(); ++i) {
      o.values.push_back(r.metric[i]);
      o.values.push_back(r.cost.flops[i] / f.victim->full_flops());
      o.values.push_back(static_cast<double>(r.pred[i]));
    }
    double m = 0;
    for (double v : r.metric) m += v / r.metric.size();
    o.ok = r.metric.size() == 8;
    o.detail = "mean " + f.victim->metric_name() + " " + Fmt("%.4f", m);
    return o;
  };
  return p;
}

// Latency path: InferOne on one sample, plus the model's own single-sample
// call where it returns something to compare (logits, depth, gates run).
PathSpec InferPath(const std::string& family) {
  PathSpec p;
  p.name = family + "/infer_one";
  p.family = family;
  p.run = [](Family& f, const torch::Device& dev) {
    Outcome o;
    torch::NoGradGuard ng;
    torch::Tensor x = Images(1, 31).to(dev);
    f.victim->InferOne(x, f.point);
    torch::Tensor logits;
    std::string extra;
    if (auto* v = dynamic_cast<AdaptiveVitVictim*>(f.victim.get())) {
      double depth = 0;
      logits = v->model()->InferGathered(x, &depth);
      o.values.push_back(depth);
      extra = " token_depth " + Fmt("%.4f", depth);
    } else if (auto* v = dynamic_cast<SkipNetVictim*>(f.victim.get())) {
      std::vector<bool> ran;
      logits = v->model()->InferDynamic(x, &ran);
      extra = " gates run ";
      for (bool r : ran) {
        o.values.push_back(r ? 1 : 0);
        extra += r ? "1" : "0";
      }
    }
    if (dev.is_cuda()) torch::cuda::synchronize();
    if (logits.defined()) {
      torch::Tensor l = logits.detach().cpu().to(torch::kFloat64).contiguous();
      for (int64_t i = 0; i < l.numel(); ++i) o.values.push_back(l.data_ptr<double>()[i]);
      o.ok = logits.device() == x.device() && torch::isfinite(logits).all().item<bool>();
      extra += std::string(" logits on ") + logits.device().str();
    } else {
      o.ok = true;
    }
    o.detail = "ran" + extra;
    return o;
  };
  return p;
}

// The adaptive ViT's masked pass with forced halting (AdaptiveVitImpl::Run
// builds the forced mask from a host vector) and the A-ViT prior KL
// (HaltingPriorKl, used by the trainer).
PathSpec ForcedHaltPath() {
  PathSpec p;
  p.name = "adaptive_token/forced_halt+prior_kl";
  p.family = "adaptive_token";
  p.run = [](Family& f, const torch::Device& dev) {
    Outcome o;
    auto* v = dynamic_cast<AdaptiveVitVictim*>(f.victim.get());
    AdaptiveVit& m = v->model();
    const int64_t t = m->config().tokens();
    std::vector<int64_t> forced(t, -1);
    for (int64_t k = 0; k < t; k += 3) forced[k] = k % m->config().depth;
    torch::NoGradGuard ng;
    torch::Tensor x = Images(4, 41).to(dev);
    m->ForceHalt(forced);
    AdaptiveVitOutput r;
    try {
      r = m->Run(x);
    } catch (...) {
      m->ForceHalt({});
      throw;
    }
    m->ForceHalt({});
    torch::Tensor kl = HaltingPriorKl(r.halting, static_cast<double>(m->config().depth));
    const double ponder = r.ponder.mean().item<double>();
    o.values = {ponder, kl.item<double>()};
    o.ok = r.logits.device() == x.device() && std::isfinite(ponder) && std::isfinite(o.values[1]);
    o.detail = "mean ponder " + Fmt("%.4f", ponder) + " prior_kl " + Fmt("%.4f", o.values[1]);
    return o;
  };
  return p;
}

std::vector<std::string> EnvList(const char* name) {
  std::vector<std::string> out;
  const char* v = std::getenv(name);
  if (!v) return out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool Matches(const std::string& name, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    if (name.find(p) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

int RunCudaPaths(const std::string& models, bool cpu_only) {
  std::vector<torch::Device> devices{torch::kCPU};
  if (!cpu_only && torch::cuda::is_available()) devices.emplace_back(torch::kCUDA, 0);
  std::printf("\n== CUDA paths: every D1 family's attacks and cost-meter inference on %s\n",
              devices.size() > 1 ? "cpu and cuda:0" : "cpu only (no CUDA device)");
  const double eps = 8.0 / 255.0;
  std::vector<PathSpec> paths = {
      MeasurePath("adaptive_token"),
      InferPath("adaptive_token"),
      ForcedHaltPath(),
      AttackPath("adaptive_token/slowformer_universal", "adaptive_token", "slowformer",
                 {{"mode", "universal"}, {"position", "top_left"}, {"fit_samples", "16"},
                  {"epochs", "2"}, {"batch", "8"}, {"alpha", "0.1"}},
                 8, "patch", 8 * 8),  // side round(sqrt(0.08 * 784)) = 8
      AttackPath("adaptive_token/slowformer_per_sample", "adaptive_token", "slowformer",
                 {{"mode", "per_sample"}, {"position", "center"}, {"iterations", "5"},
                  {"alpha", "0.1"}},
                 4, "patch", 8 * 8),
      AttackPath("adaptive_token/sponge_linf", "adaptive_token", "sponge",
                 {{"norm", "linf"}, {"objective", "density"}, {"iterations", "5"}}, 4, "linf",
                 eps),
      MeasurePath("skip_gate"),
      InferPath("skip_gate"),
      AttackPath("skip_gate/ilfo_linf", "skip_gate", "ilfo",
                 {{"norm", "linf"}, {"iterations", "10"}}, 4, "linf", eps),
      AttackPath("skip_gate/ilfo_l2", "skip_gate", "ilfo", {{"norm", "l2"}, {"iterations", "10"}},
                 4, "l2", 1.5),
      AttackPath("skip_gate/gradmdm_linf", "skip_gate", "gradmdm",
                 {{"norm", "linf"}, {"iterations", "12"}, {"warmup", "3"}}, 4, "linf", eps),
      AttackPath("skip_gate/gradmdm_l2", "skip_gate", "gradmdm",
                 {{"norm", "l2"}, {"iterations", "12"}, {"warmup", "3"}}, 4, "l2", 1.5),
      AttackPath("skip_gate/sponge_l2", "skip_gate", "sponge",
                 {{"norm", "l2"}, {"objective", "magnitude"}, {"iterations", "5"}}, 4, "l2", 1.0),
      MeasurePath("early_exit"),
      InferPath("early_exit"),
      AttackPath("early_exit/deepsloth_universal", "early_exit", "deepsloth_universal",
                 {{"fit_samples", "16"}, {"iterations", "5"}}, 8, "linf", eps),
      AttackPath("early_exit/deepsloth_l2", "early_exit", "deepsloth",
                 {{"norm", "l2"}, {"iterations", "10"}}, 4, "l2", 1.0),
      AttackPath("early_exit/sponge_linf", "early_exit", "sponge",
                 {{"norm", "linf"}, {"objective", "density"}, {"iterations", "5"}}, 4, "linf",
                 eps),
  };
  // Victims per family and device; the CPU ones also measure every output.
  std::map<std::string, std::map<std::string, Family>> fam;
  for (const char* name : {"adaptive_token", "skip_gate", "early_exit"}) {
    for (const auto& dev : devices) fam[name][dev.str()] = MakeFamily(name, models, dev);
    std::printf("%s: %s weights\n", name, fam[name]["cpu"].trained ? "trained" : "random");
  }
  int failures = 0;
  std::vector<std::string> summary;
  const std::vector<std::string> only = EnvList("BENCH_PATHS"), skip = EnvList("BENCH_SKIP_PATHS");
  for (const PathSpec& p : paths) {
    if ((!only.empty() && !Matches(p.name, only)) || Matches(p.name, skip)) {
      std::printf("PATH name=%s skipped (BENCH_PATHS / BENCH_SKIP_PATHS)\n", p.name.c_str());
      continue;
    }
    std::map<std::string, Outcome> outs;
    for (const auto& dev : devices) {
      const std::string d = dev.str();
      Outcome o;
      try {
        o = p.run(fam[p.family][d], dev);
      } catch (const c10::Error& e) {
        std::string w = e.what_without_backtrace();
        o.ok = false;
        o.detail = "error: " + w.substr(0, w.find('\n'));
      } catch (const std::exception& e) {
        std::string w = e.what();
        o.ok = false;
        o.detail = "error: " + w.substr(0, w.find('\n'));
      }
      if (!o.ok) ++failures;
      std::printf("PATH name=%s device=%s status=%s %s\n", p.name.c_str(), d.c_str(),
                  o.ok ? "pass" : "FAIL", o.detail.c_str());
      std::fflush(stdout);
      outs[d] = o;
    }
    // Comparison on the CPU model.
    std::string cmp;
    Family& cpu = fam[p.family]["cpu"];
    if (p.attack) {
      if (outs["cpu"].adv.defined()) {
        Measured clean = MeasureMean(*cpu.victim, Images(outs["cpu"].adv.size(0), 11), cpu.point);
        Measured mc = MeasureMean(*cpu.victim, outs["cpu"].adv, cpu.point);
        cmp = "flops_share clean " + Fmt("%.4f", clean.share) + " cpu-crafted " +
              Fmt("%.4f", mc.share);
        if (devices.size() > 1 && outs["cuda:0"].adv.defined()) {
          Measured mg = MeasureMean(*cpu.victim, outs["cuda:0"].adv, cpu.point);
          const double eq = (outs["cpu"].adv - outs["cuda:0"].adv)
                                .abs()
                                .lt(1e-6)
                                .to(torch::kFloat64)
                                .mean()
                                .item<double>();
          const bool close = std::fabs(mg.share - mc.share) <= kShareTolerance;
          cmp += " cuda-crafted " + Fmt("%.4f", mg.share) + "; " + cpu.victim->metric_name() +
                 " cpu " + Fmt("%.4f", mc.metric) + " cuda " + Fmt("%.4f", mg.metric) +
                 "; energy/clean cpu " + Fmt("%.4f", mc.energy / clean.energy) + " cuda " +
                 Fmt("%.4f", mg.energy / clean.energy) + "; equal pixels " +
                 Fmt("%.1f%%", 100 * eq) + "; objective " +
                 (close ? "agrees" : "DIFFERS") + " (tol " + Fmt("%.2f", kShareTolerance) + ")";
        }
      }
    } else if (devices.size() > 1 && outs["cpu"].ok && outs["cuda:0"].ok) {
      const auto& a = outs["cpu"].values;
      const auto& b = outs["cuda:0"].values;
      double diff = a.size() == b.size() ? 0 : INFINITY;
      for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        diff = std::max(diff, std::fabs(a[i] - b[i]));
      }
      cmp = "cpu vs cuda: " + std::to_string(a.size()) + " values, max |diff| " +
            Fmt("%.3g", diff);
    }
    if (!cmp.empty()) std::printf("  compare %s: %s\n", p.name.c_str(), cmp.c_str());
    std::string line = p.name;
    for (const auto& dev : devices) {
      line += " " + dev.str() + "=" + (outs[dev.str()].ok ? "pass" : "FAIL");
    }
    summary.push_back(line);
  }
  std::printf("\n== CUDA paths summary (%d failure(s))\n", failures);
  for (const auto& s : summary) std::printf("  %s\n", s.c_str());
  std::fflush(stdout);
  return failures == 0 ? 0 : 1;
}

}  // namespace bench
}  // namespace effrobust
