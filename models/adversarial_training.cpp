#include "models/adversarial_training.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "attacks/attack_util.h"
#include "attacks/deepsloth.h"
#include "attacks/nicg_slowdown.h"
#include "attacks/overload.h"
#include "common/error.h"
#include "common/hash.h"
#include "models/captioner.h"
#include "models/detector.h"
#include "models/multi_exit_victim.h"

namespace effrobust {

namespace {

// The trainer's module as the arch's Impl; ModelError if it is another.
template <typename Impl>
Impl& As(torch::nn::Module& model, const std::string& arch) {
  auto* impl = dynamic_cast<Impl*>(&model);
  if (impl == nullptr) {
    throw ModelError("adversarial training for --arch " + arch + " got a module of another arch");
  }
  return *impl;
}

// The efficiency attack whose objective the efficiency mode follows.
std::string EfficiencyAttackName(const std::string& arch) {
  if (arch == "multi_exit_cnn") return "deepsloth";
  if (arch == "captioner") return "nicgslowdown";
  return "overload";
}

std::string Short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

}  // namespace

AdversarialMode ParseAdversarialMode(const std::string& name) {
  if (name == "pgd") return AdversarialMode::kPgd;
  if (name == "efficiency") return AdversarialMode::kEfficiency;
  throw ModelError("--adversarial '" + name + "' is not a mode (allowed: pgd, efficiency)");
}

std::string AdversarialModeName(AdversarialMode mode) {
  return mode == AdversarialMode::kPgd ? "pgd" : "efficiency";
}

const std::vector<std::string>& AdversarialArchs() {
  static const std::vector<std::string> archs = {"multi_exit_cnn", "captioner", "detector"};
  return archs;
}

void CheckAdversarialOptions(const std::string& arch, const AdversarialOptions& o) {
  bool known = false;
  std::string allowed;
  for (const std::string& a : AdversarialArchs()) {
    known = known || a == arch;
    allowed += (allowed.empty() ? "" : ", ") + a;
  }
  if (!known) {
    throw ModelError("--adversarial does not apply to --arch '" + arch + "' (allowed: " + allowed +
                     ")");
  }
  auto bad = [](const std::string& what, double v, const std::string& range) {
    return ModelError(what + " " + Short(v) + " is out of range (allowed: " + range + ")");
  };
  if (!(o.epsilon > 0 && o.epsilon <= 1)) throw bad("--epsilon", o.epsilon, "0 < epsilon <= 1");
  if (!(o.step > 0 && o.step <= 1)) throw bad("--at-step", o.step, "0 < step <= 1");
  if (o.steps < 1) throw bad("--at-steps", static_cast<double>(o.steps), "1 or more");
  if (!(o.mix > 0 && o.mix <= 1)) throw bad("--at-mix", o.mix, "0 < mix <= 1");
  if (o.max_len < 1) throw bad("max_len", static_cast<double>(o.max_len), "1 or more");
  if (!(o.threshold > 0 && o.threshold < 1)) {
    throw bad("threshold", o.threshold, "0 < threshold < 1");
  }
}

std::string AdversarialLabel(const std::string& arch, const AdversarialOptions& o) {
  const std::string mode =
      o.mode == AdversarialMode::kPgd ? "pgd" : "efficiency(" + EfficiencyAttackName(arch) + ")";
  return mode + " linf eps=" + Short(o.epsilon) + " step=" + Short(o.step) +
         " steps=" + std::to_string(o.steps) + " mix=" + Short(o.mix);
}

InnerObjective MakeInnerObjective(const std::string& arch, const AdversarialOptions& o,
                                  torch::nn::Module& model, const BatchLoss& task_loss) {
  if (o.mode == AdversarialMode::kPgd) return {task_loss, +1.0};
  if (arch == "multi_exit_cnn") {
    auto& m = As<MultiExitCnnImpl>(model, arch);
    return {[&m](const torch::Tensor& x) { return DeepSlothLoss(m.ForwardAll(x)); }, -1.0};
  }
  if (arch == "captioner") {
    auto& m = As<CaptionerImpl>(model, arch);
    const int64_t max_len = o.max_len;
    return {[&m, max_len](const torch::Tensor& x) {
              return NicgSlowDownLoss(m.Greedy(x, max_len)).sum();
            },
            -1.0};
  }
  if (arch == "detector") {
    auto& m = As<DetectorImpl>(model, arch);
    const double threshold = o.threshold;
    return {[&m, threshold](const torch::Tensor& x) {
              return OverloadLoss(m.RawCandidates(x).scores, threshold);
            },
            +1.0};
  }
  CheckAdversarialOptions(arch, o);  // throws: unsupported arch
  return {};
}

torch::Tensor InnerMaximise(const torch::Tensor& images, const InnerObjective& objective,
                            const AdversarialOptions& o, uint64_t seed) {
  const torch::Tensor x0 = images.detach();
  std::vector<uint64_t> seeds(static_cast<size_t>(x0.size(0)));
  for (size_t n = 0; n < seeds.size(); ++n) seeds[n] = MixSeed(seed, n);
  const torch::Tensor start = attacks_internal::PerSampleUniform(x0, seeds, -o.epsilon, o.epsilon);
  return attacks_internal::LinfSignSteps(x0, start, o.epsilon, o.step, o.steps, objective.direction,
                                         objective.loss);
}

TrainingLossHook MakeAdversarialTrainingHook(const std::string& arch,
                                             const AdversarialOptions& options) {
  CheckAdversarialOptions(arch, options);
  auto batch = std::make_shared<uint64_t>(0);
  return [arch, options, batch](torch::nn::Module& model, const torch::Tensor& images,
                                const BatchLoss& loss_of) {
    const uint64_t seed = MixSeed(options.seed, (*batch)++);
    model.eval();
    torch::Tensor adv;
    try {
      adv = InnerMaximise(images, MakeInnerObjective(arch, options, model, loss_of), options, seed);
    } catch (...) {
      model.train();
      throw;
    }
    model.train();
    torch::Tensor loss = options.mix * loss_of(adv);
    if (options.mix < 1) loss = loss + (1 - options.mix) * loss_of(images);
    return loss;
  };
}

std::map<std::string, ExitCost> MeasureExitCost(MultiExitCnn& model,
                                                const std::map<std::string, double>& thresholds,
                                                const torch::Tensor& images,
                                                const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  model->eval();
  MultiExitVictim victim(model, thresholds);
  const double full = victim.full_flops();
  const int64_t n = images.size(0);
  std::map<std::string, ExitCost> out;
  for (const auto& [point, q] : thresholds) {
    ExitCost& c = out[point];
    for (int64_t b = 0; b < n; b += 500) {
      const int64_t e = std::min(n, b + 500);
      DynamicResult r = victim.Measure(images.slice(0, b, e), point);
      torch::Tensor y = labels.slice(0, b, e).to(torch::kInt64).cpu().contiguous();
      for (size_t i = 0; i < r.pred.size(); ++i) {
        c.mean_exit += r.metric[i];
        c.flops_share += r.cost.flops[i] / full;
        c.accuracy += r.pred[i] == y.data_ptr<int64_t>()[i] ? 1 : 0;
      }
    }
    if (n > 0) {
      c.mean_exit /= static_cast<double>(n);
      c.flops_share /= static_cast<double>(n);
      c.accuracy /= static_cast<double>(n);
    }
  }
  return out;
}

}  // namespace effrobust
