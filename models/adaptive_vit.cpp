#include "models/adaptive_vit.h"

#include <cmath>
#include <string>

#include "common/error.h"

namespace effrobust {

// FLOPs conventions (per token unless noted; D = dim, Hd = hidden, T tokens,
// H heads, C classes, P = in_channels * patch^2):
//   patch embedding 2*P*D + D, position add D;
//   per block: LayerNorm 5*D (x2), qkv 2*D*3D + 3D, attention scores
//   2*T*D per query (2*T*T*D per sample), softmax 3*H*T per query,
//   context 2*T*D per query, proj 2*D*D + D, residual adds D (x2),
//   fc1 2*D*Hd + Hd, GELU Hd, fc2 2*Hd*D + D, halting score and
//   accumulation 4;
//   head: token mean T*D, LayerNorm 5*D, linear 2*D*C + C (per sample).
// Per-token layers are reported with share = active/T; the score, softmax
// and context layers with (active/T)^2 (halted tokens are neither queries
// nor keys).

std::map<std::string, double> AdaptiveVitConfig::ToArchConfig() const {
  return {{"patch", static_cast<double>(patch)},
          {"dim", static_cast<double>(dim)},
          {"depth", static_cast<double>(depth)},
          {"heads", static_cast<double>(heads)},
          {"mlp_ratio", static_cast<double>(mlp_ratio)},
          {"gate_scale", gate_scale},
          {"gate_center", gate_center},
          {"halt_eps", halt_eps}};
}

AdaptiveVitConfig AdaptiveVitConfig::FromArchConfig(int64_t in_channels, int64_t image_size,
                                                    int64_t num_classes,
                                                    const std::map<std::string, double>& arch) {
  auto get = [&](const std::string& key) {
    auto it = arch.find(key);
    if (it == arch.end()) throw ModelError("adaptive_vit config has no '" + key + "'");
    return it->second;
  };
  AdaptiveVitConfig c;
  c.in_channels = in_channels;
  c.image_size = image_size;
  c.num_classes = num_classes;
  c.patch = static_cast<int64_t>(get("patch"));
  c.dim = static_cast<int64_t>(get("dim"));
  c.depth = static_cast<int64_t>(get("depth"));
  c.heads = static_cast<int64_t>(get("heads"));
  c.mlp_ratio = static_cast<int64_t>(get("mlp_ratio"));
  c.gate_scale = get("gate_scale");
  c.gate_center = get("gate_center");
  c.halt_eps = get("halt_eps");
  return c;
}

AdaptiveVitImpl::AdaptiveVitImpl(const AdaptiveVitConfig& config) : config_(config) {
  const auto& c = config_;
  if (c.in_channels < 1 || c.num_classes < 2 || c.patch < 1 || c.image_size % c.patch != 0 ||
      c.dim < 1 || c.depth < 1 || c.heads < 1 || c.dim % c.heads != 0 || c.mlp_ratio < 1 ||
      c.halt_eps <= 0 || c.halt_eps >= 1) {
    throw ModelError("invalid AdaptiveVitConfig (image_size " + std::to_string(c.image_size) +
                     ", patch " + std::to_string(c.patch) + ", dim " + std::to_string(c.dim) +
                     ", heads " + std::to_string(c.heads) + ", depth " + std::to_string(c.depth) +
                     ")");
  }
  const int64_t p = c.in_channels * c.patch * c.patch;
  embed_ = register_module("embed", torch::nn::Linear(p, c.dim));
  pos_ = register_parameter("pos", torch::randn({1, c.tokens(), c.dim}) * 0.02);
  for (int64_t l = 0; l < c.depth; ++l) {
    const std::string n = "block" + std::to_string(l) + "_";
    Block b;
    b.ln1 = register_module(n + "ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    b.qkv = register_module(n + "qkv", torch::nn::Linear(c.dim, 3 * c.dim));
    b.proj = register_module(n + "proj", torch::nn::Linear(c.dim, c.dim));
    b.ln2 = register_module(n + "ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    b.fc1 = register_module(n + "fc1", torch::nn::Linear(c.dim, c.hidden()));
    b.fc2 = register_module(n + "fc2", torch::nn::Linear(c.hidden(), c.dim));
    blocks_.push_back(b);
  }
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
  head_ = register_module("head", torch::nn::Linear(c.dim, c.num_classes));
}

namespace {

LayerUse Use(const torch::Tensor& in, const torch::Tensor& out, double flops, double macs,
             const torch::Tensor& share, std::vector<torch::Tensor> params = {}) {
  LayerUse u;
  u.input = in;
  u.output = out;
  u.flops = flops;
  u.macs = macs;
  u.share = share;
  u.params = std::move(params);
  return u;
}

std::vector<torch::Tensor> Params(torch::nn::Linear& l) { return {l->weight, l->bias}; }
std::vector<torch::Tensor> Params(torch::nn::LayerNorm& l) { return {l->weight, l->bias}; }

}  // namespace

torch::Tensor AdaptiveVitImpl::Embed(const torch::Tensor& x, CostLedger* ledger) {
  const auto& c = config_;
  if (x.dim() != 4 || x.size(1) != c.in_channels || x.size(2) != c.image_size ||
      x.size(3) != c.image_size) {
    throw ModelError("adaptive_vit expects [B, " + std::to_string(c.in_channels) + ", " +
                     std::to_string(c.image_size) + ", " + std::to_string(c.image_size) + "]");
  }
  const int64_t b = x.size(0), t = c.tokens(), d = c.dim;
  const int64_t p = c.in_channels * c.patch * c.patch;
  torch::Tensor patches = x.unfold(2, c.patch, c.patch)
                              .unfold(3, c.patch, c.patch)
                              .permute({0, 2, 3, 1, 4, 5})
                              .reshape({b, t, p});
  torch::Tensor e = embed_(patches);
  torch::Tensor h = e + pos_;
  if (ledger) {
    ledger->Add(
        Use(patches, e, t * (2.0 * p * d + d), t * static_cast<double>(p * d), {}, Params(embed_)));
    ledger->Add(Use(e, h, static_cast<double>(t * d), 0, {}, {pos_}));
  }
  return h;
}

torch::Tensor AdaptiveVitImpl::Head(const torch::Tensor& tokens, CostLedger* ledger) {
  const auto& c = config_;
  const double t = static_cast<double>(tokens.size(1)), d = static_cast<double>(c.dim);
  torch::Tensor pooled = tokens.mean(1);
  torch::Tensor n = norm_(pooled);
  torch::Tensor logits = head_(n);
  if (ledger) {
    ledger->Add(Use(tokens, pooled, t * d, 0, {}));
    ledger->Add(Use(pooled, n, 5 * d, 0, {}, Params(norm_)));
    ledger->Add(Use(n, logits, 2 * d * c.num_classes + c.num_classes, d * c.num_classes, {},
                    Params(head_)));
  }
  return logits;
}

bool AdaptiveVitImpl::Forced(int64_t token, int64_t layer) const {
  return !forced_.empty() && forced_[token] == layer;
}

double AdaptiveVitImpl::FullFlops() const {
  const auto& c = config_;
  const double t = static_cast<double>(c.tokens()), d = static_cast<double>(c.dim);
  const double hd = static_cast<double>(c.hidden()),
               p = static_cast<double>(c.in_channels * c.patch * c.patch);
  const double heads = static_cast<double>(c.heads), classes = static_cast<double>(c.num_classes);
  const double per_token = 5 * d + (2 * d * 3 * d + 3 * d) + (2 * d * d + d) + d + 5 * d +
                           (2 * d * hd + hd) + hd + (2 * hd * d + d) + d + 4;
  const double per_pair = 2 * d + 3 * heads + 2 * d;
  const double block = t * per_token + t * t * per_pair;
  return t * (2 * p * d + d) + t * d + c.depth * block + t * d + 5 * d + 2 * d * classes + classes;
}

AdaptiveVitOutput AdaptiveVitImpl::Run(const torch::Tensor& input, CostLedger* ledger,
                                       std::vector<torch::Tensor>* activations) {
  const auto& c = config_;
  torch::Tensor x = Embed(input, ledger);
  const int64_t b = x.size(0), t = c.tokens(), d = c.dim, nh = c.heads, dh = d / nh;
  const int64_t L = c.depth;
  const double td = static_cast<double>(t), dd = static_cast<double>(d);
  const double hd = static_cast<double>(c.hidden());
  const auto opts = x.options();
  torch::Tensor mask = torch::ones({b, t}, opts);  // 1: active
  torch::Tensor cum = torch::zeros({b, t}, opts);
  torch::Tensor rem = torch::ones({b, t}, opts);
  torch::Tensor out = torch::zeros({b, t, d}, opts);
  torch::Tensor ponder = torch::zeros({b, t}, opts);
  std::vector<torch::Tensor> halting, active;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  for (int64_t l = 0; l < L; ++l) {
    Block& bl = blocks_[l];
    torch::Tensor m = mask.unsqueeze(-1);
    torch::Tensor n_active = mask.sum(1);
    active.push_back(n_active);
    torch::Tensor share = (n_active / td).detach();
    torch::Tensor share2 = share * share;
    torch::Tensor xm = x * m;
    torch::Tensor a = bl.ln1(x) * m;
    torch::Tensor qkv = bl.qkv(a) * m;
    auto parts = qkv.view({b, t, 3, nh, dh}).permute({2, 0, 3, 1, 4});
    torch::Tensor q = parts[0], k = parts[1], v = parts[2];
    torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
    scores = scores.masked_fill(mask.view({b, 1, 1, t}) == 0, -1e9);
    torch::Tensor probs = torch::softmax(scores, -1) * mask.view({b, 1, t, 1});
    torch::Tensor ctx = torch::matmul(probs, v).permute({0, 2, 1, 3}).reshape({b, t, d});
    torch::Tensor o = bl.proj(ctx) * m;
    torch::Tensor y = x + o;
    torch::Tensor a2 = bl.ln2(y) * m;
    torch::Tensor f1 = bl.fc1(a2);
    torch::Tensor g = torch::gelu(f1) * m;
    torch::Tensor f2 = bl.fc2(g) * m;
    torch::Tensor x_new = y + f2;
    if (activations) activations->push_back(g);
    if (ledger) {
      const double pairs = td * td;
      ledger->Add(Use(xm, a, td * 5 * dd, 0, share, Params(bl.ln1)));
      ledger->Add(
          Use(a, qkv, td * (6 * dd * dd + 3 * dd), td * 3 * dd * dd, share, Params(bl.qkv)));
      ledger->Add(Use(qkv, scores * mask.view({b, 1, t, 1}) * mask.view({b, 1, 1, t}),
                      pairs * 2 * dd, pairs * dd, share2));
      ledger->Add(Use(scores * mask.view({b, 1, t, 1}) * mask.view({b, 1, 1, t}), probs,
                      pairs * 3 * nh, 0, share2));
      ledger->Add(Use(probs, ctx, pairs * 2 * dd, pairs * dd, share2));
      ledger->Add(Use(ctx, o, td * (2 * dd * dd + dd), td * dd * dd, share, Params(bl.proj)));
      ledger->Add(Use(o, y * m, td * dd, 0, share));
      ledger->Add(Use(y * m, a2, td * 5 * dd, 0, share, Params(bl.ln2)));
      ledger->Add(Use(a2, f1 * m, td * (2 * dd * hd + hd), td * dd * hd, share, Params(bl.fc1)));
      ledger->Add(Use(f1 * m, g, td * hd, 0, share));
      ledger->Add(Use(g, f2, td * (2 * hd * dd + dd), td * hd * dd, share, Params(bl.fc2)));
      ledger->Add(Use(f2, x_new * m, td * dd, 0, share));
    }
    x = x_new;
    // Halting.
    torch::Tensor h = (l + 1 == L) ? torch::ones({b, t}, opts)
                                   : torch::sigmoid(c.gate_scale * x.select(2, 0) - c.gate_center);
    h = h * mask;
    if (ledger) ledger->Add(Use(x * m, h, td * 4, 0, share));
    halting.push_back(h);
    if (!halting_) continue;
    torch::Tensor c_new = cum + h;
    torch::Tensor reached;
    {
      torch::NoGradGuard no_grad;
      torch::Tensor hit = c_new >= (1.0 - c.halt_eps);
      if (!forced_.empty()) {
        std::vector<int64_t> f(t, 0);
        for (int64_t k = 0; k < t; ++k) f[k] = Forced(k, l) ? 1 : 0;
        hit = hit | torch::tensor(f).to(hit.device(), torch::kBool).view({1, t});
      }
      reached = (hit & (mask > 0)).to(opts.dtype());
    }
    torch::Tensor going = mask - reached;
    ponder = ponder + mask + reached * rem;
    out = out + ((reached * rem + going * h).unsqueeze(-1)) * x;
    rem = rem - going * h;
    cum = c_new;
    mask = going;
  }
  if (!halting_) {
    out = x;
    ponder = torch::full({b, t}, static_cast<double>(L), opts);
  }
  AdaptiveVitOutput r;
  r.logits = Head(out, ledger);
  r.ponder = ponder;
  r.halting = torch::stack(halting, 1);
  r.active = torch::stack(active, 1).detach();
  return r;
}

torch::Tensor AdaptiveVitImpl::InferGathered(const torch::Tensor& input, double* token_depth) {
  const auto& c = config_;
  if (input.dim() != 4 || input.size(0) != 1) {
    throw ModelError("InferGathered needs one sample [1, C, H, W]");
  }
  torch::Tensor x = Embed(input, nullptr);
  const int64_t t = c.tokens(), d = c.dim, nh = c.heads, dh = d / nh, L = c.depth;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  // cum, rem, out and the token index live on x's device; the per-token
  // halting decisions are read on the host (hit, r, h copied there).
  const auto opts = x.options();
  torch::Tensor cum = torch::zeros({t}, opts);
  torch::Tensor rem = torch::ones({t}, opts);
  torch::Tensor out = torch::zeros({1, t, d}, opts);
  std::vector<int64_t> idx(t);
  for (int64_t k = 0; k < t; ++k) idx[k] = k;
  int64_t runs = 0;
  for (int64_t l = 0; l < L && !idx.empty(); ++l) {
    Block& bl = blocks_[l];
    const int64_t a = static_cast<int64_t>(idx.size());
    runs += a;
    torch::Tensor index = torch::tensor(idx, torch::kInt64).to(x.device());
    torch::Tensor xs = x.index_select(1, index);
    auto parts = bl.qkv(bl.ln1(xs)).view({1, a, 3, nh, dh}).permute({2, 0, 3, 1, 4});
    torch::Tensor probs =
        torch::softmax(torch::matmul(parts[0], parts[1].transpose(-2, -1)) * scale, -1);
    torch::Tensor ctx = torch::matmul(probs, parts[2]).permute({0, 2, 1, 3}).reshape({1, a, d});
    torch::Tensor y = xs + bl.proj(ctx);
    y = y + bl.fc2(torch::gelu(bl.fc1(bl.ln2(y))));
    x.index_copy_(1, index, y);
    if (!halting_) continue;
    torch::Tensor h = (l + 1 == L)
                          ? torch::ones({a}, opts)
                          : torch::sigmoid(c.gate_scale * y[0].select(1, 0) - c.gate_center);
    torch::Tensor c_new = cum.index_select(0, index) + h;
    auto hit = (c_new >= (1.0 - c.halt_eps)).cpu().contiguous();
    const bool* hp = hit.data_ptr<bool>();
    torch::Tensor r = rem.index_select(0, index);
    std::vector<int64_t> next;
    std::vector<float> w(a);
    torch::Tensor rc = r.cpu().contiguous(), hc = h.cpu().contiguous();
    for (int64_t j = 0; j < a; ++j) {
      const bool done = hp[j] || Forced(idx[j], l);
      w[j] = done ? rc.data_ptr<float>()[j] : hc.data_ptr<float>()[j];
      if (!done) {
        next.push_back(idx[j]);
        rc.data_ptr<float>()[j] -= hc.data_ptr<float>()[j];
      }
    }
    out.index_add_(1, index, torch::tensor(w).to(y.device()).view({1, a, 1}) * y);
    rem.index_copy_(0, index, rc.to(rem.device()));
    cum.index_copy_(0, index, c_new);
    idx = std::move(next);
  }
  if (token_depth) *token_depth = static_cast<double>(runs) / static_cast<double>(t * L);
  return Head(halting_ ? out : x, nullptr);
}

torch::Tensor HaltingPriorKl(const torch::Tensor& halting, double target_depth) {
  const int64_t L = halting.size(1);
  std::vector<float> prior(L);
  double total = 0;
  for (int64_t l = 0; l < L; ++l) {
    const double z = static_cast<double>(l + 1) - target_depth;
    prior[l] = static_cast<float>(std::exp(-0.5 * z * z));
    total += prior[l];
  }
  for (auto& p : prior) p = static_cast<float>(p / total);
  torch::Tensor target = torch::tensor(prior).to(halting.device());
  torch::Tensor dist = halting.mean(std::vector<int64_t>{0, 2});
  dist = dist / dist.sum().clamp_min(1e-12);
  return (target * (torch::log(target + 1e-10) - torch::log(dist + 1e-10))).sum();
}

}  // namespace effrobust
