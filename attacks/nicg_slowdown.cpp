#include "attacks/nicg_slowdown.h"

#include <limits>

#include "common/error.h"
#include "common/progress.h"
#include "data/vocabulary.h"

namespace effrobust {

namespace {

// d(x_adv, x) per sample [B].
torch::Tensor Distance(const torch::Tensor& adv, const torch::Tensor& x, bool l2) {
  torch::Tensor d = (adv - x).flatten(1);
  return l2 ? d.pow(2).sum(1) : d.abs().amax(1);
}

}  // namespace

torch::Tensor NicgSlowDownLoss(const GreedyResult& g) {
  // log(1 - s_t) = log of the probability of every token but <end> and
  // y_t, computed from the logits so it does not saturate (1 - s_t of a
  // confident decoder is below float precision).
  torch::Tensor logits = g.logits;  // [B, T, V]
  const int64_t b = logits.size(0);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  torch::Tensor others =
      logits.scatter(2, logits.argmax(2, true), neg_inf)
          .index_fill(2, torch::tensor({Vocabulary::kEnd}).to(logits.device()), neg_inf);
  torch::Tensor log_rest = torch::logsumexp(others, 2) - torch::logsumexp(logits, 2);
  std::vector<float> mask_host;
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t t = 0; t < logits.size(1); ++t) {
      mask_host.push_back(t < g.steps[static_cast<size_t>(i)] ? 1.0f : 0.0f);
    }
  }
  torch::Tensor mask = torch::tensor(mask_host).view({b, logits.size(1)}).to(logits.device());
  return (-log_rest * mask).sum(1) / mask.sum(1);
}

NicgSlowDownResult NicgSlowDown(Captioner& model, const torch::Tensor& images,
                                const NicgSlowDownOptions& o) {
  CaptionerVictim victim(model);
  return NicgSlowDown(victim, images, o);
}

NicgSlowDownResult NicgSlowDown(CaptioningVictim& model, const torch::Tensor& images,
                                const NicgSlowDownOptions& o) {
  if ((o.norm != "l2" && o.norm != "linf") || o.budget <= 0 || o.c < 0 || o.lr <= 0 ||
      o.iterations < 1 || o.max_len < 1) {
    throw AttackError("attack 'nicgslowdown': need norm l2 or linf, budget > 0, c >= 0, lr > 0, "
                      "iterations >= 1, max_len >= 1 (norm '" + o.norm + "')");
  }
  const bool l2 = o.norm == "l2";
  torch::AutoGradMode grad_on(true);
  model.module().eval();
  std::vector<torch::Tensor> frozen;
  for (auto& p : model.module().parameters()) {
    if (p.requires_grad()) {
      frozen.push_back(p);
      p.set_requires_grad(false);
    }
  }
  const int64_t b = images.size(0);
  torch::Tensor x = images.detach();
  NicgSlowDownResult r;
  r.images = x.clone();
  r.distance.assign(static_cast<size_t>(b), 0.0);
  {
    torch::NoGradGuard no_grad;
    r.steps = model.Greedy(x, o.max_len).steps;
  }
  // atanh(2x - 1) with 2x - 1 clamped to +-(1 - 1e-3): a pixel at exactly 0
  // or 1 (most of a scene's background) would otherwise sit where tanh is
  // flat and never move. The clamp shifts such pixels by 5e-4.
  torch::Tensor w = torch::atanh((2 * x - 1).clamp(-1 + 1e-3, 1 - 1e-3)).requires_grad_(true);
  torch::optim::Adam opt({w}, torch::optim::AdamOptions(o.lr));
  for (int64_t it = 0; it < o.iterations; ++it) {
    ReportProgress();  // heartbeats while one batch runs long
    torch::Tensor adv = (torch::tanh(w) + 1) / 2;
    GreedyResult g = model.Greedy(adv, o.max_len);
    r.batch_steps += g.logits.size(1);
    torch::Tensor per_sample = NicgSlowDownLoss(g);
    torch::Tensor dist = Distance(adv, x, l2);
    torch::Tensor loss = (per_sample + o.c * torch::relu(dist - o.budget)).sum();
    // Keep the longest caption within budget (this iterate's greedy run).
    torch::Tensor dist_host = dist.detach().cpu().to(torch::kFloat64);
    for (int64_t i = 0; i < b; ++i) {
      const double d = dist_host[i].item<double>();
      if (d <= o.budget && g.steps[i] >= r.steps[i]) {
        r.steps[i] = g.steps[i];
        r.distance[i] = d;
        r.images[i] = adv[i].detach();
      }
    }
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  for (auto& p : frozen) p.set_requires_grad(true);
  return r;
}

}  // namespace effrobust
