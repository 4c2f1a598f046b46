// MakeAttack registry and the helpers declared in attacks/attack_util.h.
#include "attacks/attack.h"
#include "attacks/attack_util.h"

#include <cmath>
#include <functional>
#include <map>

#include "common/error.h"
#include "common/progress.h"

namespace effrobust {

namespace attacks_internal {

double RequireNumber(const ParamMap& params, const std::string& attack,
                     const std::string& key) {
  auto it = params.find(key);
  if (it == params.end()) {
    throw AttackError("attack '" + attack + "' is missing parameter '" + key + "'");
  }
  if (!std::holds_alternative<double>(it->second)) {
    throw AttackError("attack '" + attack + "' parameter '" + key + "' must be a number, got '" +
                      std::get<std::string>(it->second) + "'");
  }
  const double v = std::get<double>(it->second);
  if (!std::isfinite(v)) {
    throw AttackError("attack '" + attack + "' parameter '" + key + "' is not finite");
  }
  return v;
}

int64_t RequireCount(const ParamMap& params, const std::string& attack, const std::string& key) {
  const double v = RequireNumber(params, attack, key);
  if (v < 0 || v != std::floor(v)) {
    throw AttackError("attack '" + attack + "' parameter '" + key +
                      "' must be a non-negative integer, got " + FormatNumber(v));
  }
  return static_cast<int64_t>(v);
}

std::string RequireString(const ParamMap& params, const std::string& attack,
                          const std::string& key) {
  auto it = params.find(key);
  if (it == params.end()) {
    throw AttackError("attack '" + attack + "' is missing parameter '" + key + "'");
  }
  return ScalarText(it->second);
}

void CheckRunInputs(const std::string& attack, VictimModel& victim, const torch::Tensor& x,
                    const torch::Tensor& labels, const std::vector<uint64_t>& sample_seeds) {
  if (victim.is_training()) {
    throw AttackError(attack + ": model must be in eval mode (call model->eval())");
  }
  if (!x.defined() || x.dim() != 4) {
    throw AttackError(attack + ": x must be [B, C, H, W], got " +
                      (x.defined() ? std::to_string(x.dim()) + "-d tensor" : "undefined"));
  }
  if (x.size(1) != victim.in_channels() || x.size(2) != victim.image_size() ||
      x.size(3) != victim.image_size()) {
    throw AttackError(attack + ": x has shape [" + std::to_string(x.size(0)) + ", " +
                      std::to_string(x.size(1)) + ", " + std::to_string(x.size(2)) + ", " +
                      std::to_string(x.size(3)) + "], the model expects [B, " +
                      std::to_string(victim.in_channels()) + ", " + std::to_string(victim.image_size()) +
                      ", " + std::to_string(victim.image_size()) + "]");
  }
  if (x.scalar_type() != torch::kFloat32) throw AttackError(attack + ": x must be float32");
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != x.size(0)) {
    throw AttackError(attack + ": labels must be [B] with B = " + std::to_string(x.size(0)));
  }
  if (labels.scalar_type() != torch::kInt64) throw AttackError(attack + ": labels must be int64");
  if (static_cast<int64_t>(sample_seeds.size()) != x.size(0)) {
    throw AttackError(attack + ": got " + std::to_string(sample_seeds.size()) +
                      " sample seeds for a batch of " + std::to_string(x.size(0)));
  }
  if (x.numel() > 0) {
    if (x.min().item<float>() < 0.0f || x.max().item<float>() > 1.0f) {
      throw AttackError(attack + ": x must lie in [0, 1]");
    }
    if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= victim.num_classes()) {
      throw AttackError(attack + ": labels must lie in [0, " +
                        std::to_string(victim.num_classes()) + ")");
    }
  }
}

void RequireFamily(const std::string& attack, VictimModel& victim, const std::string& family) {
  if (victim.family() != family) {
    throw AttackError("attack '" + attack + "' targets " + family + " models; this model is " +
                      victim.family());
  }
}

// Per-sample noise, each sample drawn from its own generator so that it does
// not depend on the batch: uniform in [lo, hi] or standard normal.
torch::Tensor PerSampleUniform(const torch::Tensor& like, const std::vector<uint64_t>& seeds,
                               double lo, double hi) {
  std::vector<torch::Tensor> parts;
  parts.reserve(seeds.size());
  const auto shape = like.sizes().slice(1);
  for (uint64_t seed : seeds) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    parts.push_back(torch::rand(shape, gen, torch::kFloat32) * (hi - lo) + lo);
  }
  if (parts.empty()) return torch::zeros_like(like);
  return torch::stack(parts).to(like.device());
}

torch::Tensor PerSampleNormal(const torch::Tensor& like, const std::vector<uint64_t>& seeds) {
  std::vector<torch::Tensor> parts;
  parts.reserve(seeds.size());
  const auto shape = like.sizes().slice(1);
  for (uint64_t seed : seeds) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    parts.push_back(torch::randn(shape, gen, torch::kFloat32));
  }
  if (parts.empty()) return torch::zeros_like(like);
  return torch::stack(parts).to(like.device());
}

// Gradient of `loss_of(input)` w.r.t. `input` only: model parameters get no
// .grad (torch::autograd::grad with the input as the only target).
torch::Tensor InputGradient(const torch::Tensor& input,
                            const std::function<torch::Tensor(const torch::Tensor&)>& loss_of) {
  torch::AutoGradMode grad_on(true);
  torch::Tensor leaf = input.detach().requires_grad_(true);
  torch::Tensor loss = loss_of(leaf);
  // A NaN/inf loss would silently turn the perturbation into garbage: it is
  // an error inside the unit (reported, retried, then marked failed).
  if (!torch::isfinite(loss).all().item<bool>()) {
    const double v = loss.sum().item<double>();
    throw AttackError("the attack loss is not finite (" + std::to_string(v) +
                      "); the input or the attack parameters make the gradient undefined");
  }
  return torch::autograd::grad({loss}, {leaf})[0].detach();
}

// LibTorch 1.13 runs the 3x3 convolutions of a lone small image through its
// native kernel but batches of two or more through oneDNN, whose per-sample
// results do not depend on the batch size (checked bit for bit for batches
// 2, 8 and 500). The two kernels round differently, and sign-gradient steps
// amplify such differences, so a lone sample is attacked as a batch of two
// copies of itself and the first copy is returned.
torch::Tensor RunBatchInvariant(const torch::Tensor& x, const torch::Tensor& labels,
                                const std::vector<uint64_t>& seeds, const BatchAttack& body) {
  if (x.size(0) != 1) return body(x, labels, seeds);
  torch::Tensor out = body(torch::cat({x, x}), torch::cat({labels, labels}),
                           {seeds[0], seeds[0]});
  return out.slice(0, 0, 1).clone();
}

LinfSignAttack::LinfSignAttack(std::string name, double eps, double step, int64_t iterations,
                               double start_radius, double direction, AttackLoss loss)
    : name_(std::move(name)),
      eps_(eps),
      step_(step),
      iterations_(iterations),
      start_radius_(start_radius),
      direction_(direction),
      loss_(std::move(loss)) {}

torch::Tensor LinfSignAttack::Run(VictimModel& victim, const torch::Tensor& x,
                                  const torch::Tensor& labels,
                                  const std::vector<uint64_t>& sample_seeds) {
  CheckRunInputs(name_, victim, x, labels, sample_seeds);
  if (x.size(0) == 0) return x.clone();
  return RunBatchInvariant(
      x.detach().contiguous(), labels, sample_seeds,
      [&](const torch::Tensor& xb, const torch::Tensor& yb, const std::vector<uint64_t>& sb) {
        return Attack(victim, xb, yb, sb);
      });
}

torch::Tensor LinfSignSteps(const torch::Tensor& x0, const torch::Tensor& start, double eps,
                            double step, int64_t iterations, double direction,
                            const std::function<torch::Tensor(const torch::Tensor&)>& loss_of) {
  const torch::Tensor lo = (x0 - eps).clamp(0.0, 1.0);
  const torch::Tensor hi = (x0 + eps).clamp(0.0, 1.0);
  torch::Tensor xa = torch::max(torch::min(x0 + start, hi), lo);
  for (int64_t it = 0; it < iterations; ++it) {
    ReportProgress();  // heartbeats while one batch runs long
    torch::Tensor g = InputGradient(xa, loss_of);
    torch::NoGradGuard no_grad;
    xa = xa + direction * step * g.sign();
    xa = torch::max(torch::min(xa, hi), lo);
  }
  return xa.detach();
}

torch::Tensor LinfSignAttack::Attack(VictimModel& victim, const torch::Tensor& x0,
                                     const torch::Tensor& labels,
                                     const std::vector<uint64_t>& sample_seeds) {
  return LinfSignSteps(x0, PerSampleUniform(x0, sample_seeds, -start_radius_, start_radius_), eps_,
                       step_, iterations_, direction_,
                       [&](const torch::Tensor& in) { return loss_(victim, in, labels); });
}

torch::Tensor SampleNorms(const torch::Tensor& t) {
  return t.flatten(1).norm(2, 1).view({-1, 1, 1, 1});
}

L2StepAttack::L2StepAttack(std::string name, double eps, double step, int64_t iterations,
                           double direction, AttackLoss loss)
    : name_(std::move(name)),
      eps_(eps),
      step_(step),
      iterations_(iterations),
      direction_(direction),
      loss_(std::move(loss)) {}

torch::Tensor L2StepAttack::Run(VictimModel& victim, const torch::Tensor& x,
                                const torch::Tensor& labels,
                                const std::vector<uint64_t>& sample_seeds) {
  CheckRunInputs(name_, victim, x, labels, sample_seeds);
  if (x.size(0) == 0) return x.clone();
  return RunBatchInvariant(
      x.detach().contiguous(), labels, sample_seeds,
      [&](const torch::Tensor& x0, const torch::Tensor& yb, const std::vector<uint64_t>&) {
        auto loss_of = [&](const torch::Tensor& in) { return loss_(victim, in, yb); };
        torch::Tensor xa = x0.clone();
        for (int64_t it = 0; it < iterations_; ++it) {
          ReportProgress();  // heartbeats while one batch runs long
          torch::Tensor g = InputGradient(xa, loss_of);
          torch::NoGradGuard no_grad;
          xa = xa + direction_ * step_ * g / SampleNorms(g).clamp_min(1e-12);
          torch::Tensor delta = xa - x0;
          delta = delta * (eps_ / torch::max(SampleNorms(delta), torch::full({}, eps_)));
          xa = (x0 + delta).clamp(0.0, 1.0);
        }
        return xa.detach();
      });
}

}  // namespace attacks_internal

std::unique_ptr<Attack> MakeAttack(const std::string& name, const ParamMap& params) {
  static const std::map<std::string, std::function<std::unique_ptr<Attack>(const ParamMap&)>>
      kFactories = {
          {"clean", MakeCleanAttack},
          {"deepsloth", MakeDeepSlothAttack},
          {"deepsloth_universal", MakeDeepSlothUniversalAttack},
          {"sponge", MakeSpongeAttack},
          {"gradmdm", MakeGradMdmAttack},
          {"ilfo", MakeIlfoAttack},
          {"pgd", MakePgdAttack},
          {"slowformer", MakeSlowFormerAttack},
      };
  auto it = kFactories.find(name);
  if (it == kFactories.end()) {
    std::string known;
    for (const auto& [k, f] : kFactories) known += (known.empty() ? "" : ", ") + k;
    throw AttackError("no torch implementation for attack '" + name + "' (implemented: " +
                      known + ")");
  }
  return it->second(params);
}

}  // namespace effrobust
