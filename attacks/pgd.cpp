// PGD (L-infinity) on the final exit's cross-entropy: the accuracy attack
// baseline DeepSloth compares against. Random start uniform in [-eps, eps]
// from each sample's own generator, sign ascent, projection onto the
// eps-ball and [0, 1]. The loss is summed over the batch so that each
// sample's gradient is independent of the batch it is in.
#include "attacks/attack.h"

#include <functional>

#include "common/error.h"

namespace effrobust {

namespace attacks_internal {
double RequireNumber(const ParamMap& params, const std::string& attack, const std::string& key);
int64_t RequireCount(const ParamMap& params, const std::string& attack, const std::string& key);
std::string RequireString(const ParamMap& params, const std::string& attack,
                          const std::string& key);
void CheckRunInputs(const std::string& attack, MultiExitCnn& model, const torch::Tensor& x,
                    const torch::Tensor& labels, const std::vector<uint64_t>& sample_seeds);
torch::Tensor PerSampleUniform(const torch::Tensor& like, const std::vector<uint64_t>& seeds,
                               double lo, double hi);
torch::Tensor InputGradient(const torch::Tensor& input,
                            const std::function<torch::Tensor(const torch::Tensor&)>& loss_of);
using BatchAttack = std::function<torch::Tensor(
    const torch::Tensor& x, const torch::Tensor& labels, const std::vector<uint64_t>& seeds)>;
torch::Tensor RunBatchInvariant(const torch::Tensor& x, const torch::Tensor& labels,
                                const std::vector<uint64_t>& seeds, const BatchAttack& body);
}  // namespace attacks_internal

namespace {

using namespace attacks_internal;

class PgdAttack : public Attack {
 public:
  PgdAttack(double eps, double step, int64_t iterations)
      : eps_(eps), step_(step), iterations_(iterations) {}

  torch::Tensor Run(MultiExitCnn& model, const torch::Tensor& x, const torch::Tensor& labels,
                    const std::vector<uint64_t>& sample_seeds) override {
    CheckRunInputs("pgd", model, x, labels, sample_seeds);
    if (x.size(0) == 0) return x.clone();
    return RunBatchInvariant(
        x.detach().contiguous(), labels, sample_seeds,
        [&](const torch::Tensor& xb, const torch::Tensor& yb, const std::vector<uint64_t>& sb) {
          return Attack(model, xb, yb, sb);
        });
  }

 private:
  torch::Tensor Attack(MultiExitCnn& model, const torch::Tensor& x0, const torch::Tensor& labels,
                       const std::vector<uint64_t>& sample_seeds) {
    const torch::Tensor lo = (x0 - eps_).clamp(0.0, 1.0);
    const torch::Tensor hi = (x0 + eps_).clamp(0.0, 1.0);
    torch::Tensor xa =
        (x0 + PerSampleUniform(x0, sample_seeds, -eps_, eps_)).clamp(0.0, 1.0);
    xa = torch::max(torch::min(xa, hi), lo);
    auto loss_of = [&](const torch::Tensor& in) {
      auto outs = model->ForwardAll(in);
      return torch::nn::functional::cross_entropy(
          outs.back(), labels,
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    };
    for (int64_t it = 0; it < iterations_; ++it) {
      torch::Tensor g = InputGradient(xa, loss_of);
      torch::NoGradGuard no_grad;
      xa = xa + step_ * g.sign();
      xa = torch::max(torch::min(xa, hi), lo);
    }
    return xa.detach();
  }

  double eps_;
  double step_;
  int64_t iterations_;
};

}  // namespace

std::unique_ptr<Attack> MakePgdAttack(const ParamMap& params) {
  const std::string norm = RequireString(params, "pgd", "norm");
  if (norm != "linf") {
    throw AttackError("attack 'pgd' supports norm 'linf' only, got '" + norm + "'");
  }
  const double eps = RequireNumber(params, "pgd", "eps");
  const double step = RequireNumber(params, "pgd", "step");
  const int64_t iterations = RequireCount(params, "pgd", "iterations");
  if (eps < 0 || step < 0) throw AttackError("attack 'pgd': eps and step must be >= 0");
  return std::make_unique<PgdAttack>(eps, step, iterations);
}

}  // namespace effrobust
