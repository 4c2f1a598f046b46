#include "models/skip_net.h"

#include <string>

#include "common/error.h"

namespace effrobust {

namespace {

constexpr int64_t kKernel = 3;
constexpr double kGateBiasInit = 1.0;  // gates start on (sigmoid(1) = 0.73)

int64_t ConvOut(int64_t in, int64_t stride) { return (in - 1) / stride + 1; }

int64_t NeedCount(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end()) throw ModelError("skip_net arch_config is missing key '" + key + "'");
  const double v = it->second;
  if (!(v >= 1) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw ModelError("skip_net arch_config key '" + key + "' must be a positive integer");
  }
  return static_cast<int64_t>(v);
}

// One layer execution reported to a ledger (if any).
void Report(CostLedger* ledger, const torch::Tensor& in, const torch::Tensor& out, double flops,
            double macs, std::vector<torch::Tensor> params, const torch::Tensor& share) {
  if (!ledger) return;
  LayerUse use;
  use.input = in;
  use.output = out;
  use.flops = flops;
  use.macs = macs;
  use.params = std::move(params);
  use.share = share;
  ledger->Add(use);
}

double PerSample(const torch::Tensor& t) {
  return static_cast<double>(t.numel()) / static_cast<double>(t.size(0));
}

// Conv without bias: MACs = out_elems * k*k*Cin; FLOPs = 2 * MACs.
double ConvMacs(const torch::nn::Conv2d& conv, const torch::Tensor& out) {
  const auto& w = conv->weight;
  return PerSample(out) * static_cast<double>(w.size(1) * w.size(2) * w.size(3));
}

}  // namespace

std::map<std::string, double> SkipNetConfig::ToArchConfig() const {
  return {{"stem_channels", static_cast<double>(stem_channels)},
          {"stages", static_cast<double>(stages)},
          {"blocks_per_stage", static_cast<double>(blocks_per_stage)}};
}

SkipNetConfig SkipNetConfig::FromArchConfig(int64_t in_channels, int64_t image_size,
                                            int64_t num_classes,
                                            const std::map<std::string, double>& arch_config) {
  SkipNetConfig c;
  c.in_channels = in_channels;
  c.image_size = image_size;
  c.num_classes = num_classes;
  c.stem_channels = NeedCount(arch_config, "stem_channels");
  c.stages = NeedCount(arch_config, "stages");
  c.blocks_per_stage = NeedCount(arch_config, "blocks_per_stage");
  return c;
}

SkipNetImpl::SkipNetImpl(const SkipNetConfig& config) : config_(config) {
  const SkipNetConfig& c = config_;
  if (c.in_channels < 1 || c.image_size < 4 || c.num_classes < 2 || c.stem_channels < 1 ||
      c.stages < 1 || c.blocks_per_stage < 1 || (c.stages == 1 && c.blocks_per_stage < 1)) {
    throw ModelError("invalid SkipNetConfig (in_channels " + std::to_string(c.in_channels) +
                     ", image_size " + std::to_string(c.image_size) + ", num_classes " +
                     std::to_string(c.num_classes) + ", stem_channels " +
                     std::to_string(c.stem_channels) + ", stages " + std::to_string(c.stages) +
                     ", blocks_per_stage " + std::to_string(c.blocks_per_stage) + ")");
  }
  using namespace torch::nn;
  stem_ = register_module(
      "stem",
      Conv2d(Conv2dOptions(c.in_channels, c.stem_channels, kKernel).padding(1).bias(false)));
  stem_bn_ = register_module("stem_bn", BatchNorm2d(c.stem_channels));
  stem_size_ = c.image_size / 2;
  int64_t ch = c.stem_channels, size = stem_size_;
  for (int64_t s = 0; s < c.stages; ++s) {
    const int64_t width = c.stem_channels << s;
    for (int64_t k = 0; k < c.blocks_per_stage; ++k) {
      Block b;
      const bool transition = s > 0 && k == 0;
      b.in_ch = ch;
      b.out_ch = width;
      b.stride = transition ? 2 : 1;
      b.in_size = size;
      b.out_size = ConvOut(size, b.stride);
      const std::string n = "block" + std::to_string(blocks_.size());
      b.conv1 = register_module(
          n + "_conv1",
          Conv2d(Conv2dOptions(ch, width, kKernel).stride(b.stride).padding(1).bias(false)));
      b.bn1 = register_module(n + "_bn1", BatchNorm2d(width));
      b.conv2 = register_module(
          n + "_conv2", Conv2d(Conv2dOptions(width, width, kKernel).padding(1).bias(false)));
      b.bn2 = register_module(n + "_bn2", BatchNorm2d(width));
      if (transition) {
        b.down =
            register_module(n + "_down", Conv2d(Conv2dOptions(ch, width, 1).stride(2).bias(false)));
        b.down_bn = register_module(n + "_down_bn", BatchNorm2d(width));
      } else {
        b.gate = register_module(n + "_gate", Linear(ch, 1));
        torch::NoGradGuard no_grad;
        b.gate->bias.fill_(kGateBiasInit);
        gated_.push_back(static_cast<int64_t>(blocks_.size()));
      }
      blocks_.push_back(b);
      ch = width;
      size = b.out_size;
    }
  }
  fc_ = register_module("fc", Linear(ch, c.num_classes));
  overrides_.assign(gated_.size(), GateMode::kAuto);
}

torch::Tensor SkipNetImpl::RunBlock(Block& b, const torch::Tensor& h, CostLedger* ledger,
                                    const torch::Tensor& share,
                                    std::vector<torch::Tensor>* activations) {
  auto conv = [&](torch::nn::Conv2d c, const torch::Tensor& in) {
    torch::Tensor out = c->forward(in);
    const double macs = ConvMacs(c, out);
    Report(ledger, in, out, 2 * macs, macs, {c->weight}, share);
    return out;
  };
  auto bn = [&](torch::nn::BatchNorm2d n, const torch::Tensor& in) {
    torch::Tensor out = n->forward(in);
    Report(ledger, in, out, 2 * PerSample(out), 0, {n->weight, n->bias}, share);
    return out;
  };
  auto relu = [&](const torch::Tensor& in) {
    torch::Tensor out = torch::relu(in);
    Report(ledger, in, out, PerSample(out), 0, {}, share);
    if (activations) activations->push_back(out);
    return out;
  };
  torch::Tensor r = relu(bn(b.bn1, conv(b.conv1, h)));
  r = bn(b.bn2, conv(b.conv2, r));
  torch::Tensor shortcut = b.down ? bn(b.down_bn, conv(b.down, h)) : h;
  torch::Tensor sum = r + shortcut;
  Report(ledger, r, sum, PerSample(sum), 0, {}, share);
  return relu(sum);
}

SkipNetPass SkipNetImpl::ForwardGated(const torch::Tensor& x, CostLedger* ledger,
                                      std::vector<torch::Tensor>* activations,
                                      const std::vector<torch::Tensor>* mask_override) {
  if (mask_override && static_cast<int64_t>(mask_override->size()) != num_gates()) {
    throw ModelError("SkipNet::ForwardGated: mask_override has " +
                     std::to_string(mask_override->size()) + " entries for " +
                     std::to_string(num_gates()) + " gates");
  }
  SkipNetPass pass;
  const torch::Tensor none;
  torch::Tensor h = stem_->forward(x);
  const double stem_macs = ConvMacs(stem_, h);
  Report(ledger, x, h, 2 * stem_macs, stem_macs, {stem_->weight}, none);
  torch::Tensor in = h;
  h = stem_bn_->forward(in);
  Report(ledger, in, h, 2 * PerSample(h), 0, {stem_bn_->weight, stem_bn_->bias}, none);
  in = h;
  h = torch::relu(in);
  Report(ledger, in, h, PerSample(h), 0, {}, none);
  if (activations) activations->push_back(h);
  in = h;
  h = torch::max_pool2d(in, 2, 2);
  Report(ledger, in, h, 4 * PerSample(h), 0, {}, none);

  size_t j = 0;
  for (Block& b : blocks_) {
    if (!b.gate) {
      h = RunBlock(b, h, ledger, none, activations);
      continue;
    }
    torch::Tensor pooled = h.mean({2, 3});
    Report(ledger, h, pooled, PerSample(h), 0, {}, none);
    torch::Tensor logit = b.gate->forward(pooled);
    Report(ledger, pooled, logit, 2 * PerSample(pooled) + 1, PerSample(pooled),
           {b.gate->weight, b.gate->bias}, none);
    torch::Tensor p = torch::sigmoid(logit);
    Report(ledger, logit, p, 1, 0, {}, none);
    p = p.squeeze(1);
    torch::Tensor m;
    if (mask_override) {
      m = (*mask_override)[j].to(h.dtype());
    } else if (overrides_[j] == GateMode::kForceOn) {
      m = torch::ones_like(p);
    } else if (overrides_[j] == GateMode::kForceOff) {
      m = torch::zeros_like(p);
    } else {
      m = (p > 0.5).to(p.dtype()) + (p - p.detach());  // straight-through: exactly 0/1
    }
    torch::Tensor y = RunBlock(b, h, ledger, m.detach(), activations);
    torch::Tensor mv = m.view({-1, 1, 1, 1});
    h = mv * y + (1 - mv) * h;
    pass.gates.push_back(p);
    pass.masks.push_back(m);
    ++j;
  }
  in = h;
  h = h.mean({2, 3});
  Report(ledger, in, h, PerSample(in), 0, {}, none);
  pass.logits = fc_->forward(h);
  Report(ledger, h, pass.logits, 2 * PerSample(h) * PerSample(pass.logits) + PerSample(pass.logits),
         PerSample(h) * PerSample(pass.logits), {fc_->weight, fc_->bias}, none);
  return pass;
}

torch::Tensor SkipNetImpl::InferDynamic(const torch::Tensor& x, std::vector<bool>* ran) {
  if (x.dim() != 4 || x.size(0) != 1) {
    throw ModelError("SkipNet::InferDynamic needs one sample [1, C, H, W], got " +
                     std::to_string(x.dim()) + "-d input");
  }
  if (ran) ran->clear();
  torch::Tensor h = torch::max_pool2d(torch::relu(stem_bn_->forward(stem_->forward(x))), 2, 2);
  size_t j = 0;
  for (Block& b : blocks_) {
    bool run = true;
    if (b.gate) {
      const GateMode mode = overrides_[j++];
      if (mode == GateMode::kAuto) {
        run = torch::sigmoid(b.gate->forward(h.mean({2, 3}))).item<float>() > 0.5f;
      } else {
        run = mode == GateMode::kForceOn;
      }
      if (ran) ran->push_back(run);
    }
    if (run) h = RunBlock(b, h, nullptr, torch::Tensor(), nullptr);
  }
  return fc_->forward(h.mean({2, 3}));
}

void SkipNetImpl::set_gate_override(int64_t gate, GateMode mode) {
  if (gate < 0 || gate >= num_gates()) {
    throw ModelError("SkipNet has no gate " + std::to_string(gate) + " (it has " +
                     std::to_string(num_gates()) + ")");
  }
  overrides_[gate] = mode;
}

void SkipNetImpl::set_all_gates(GateMode mode) { overrides_.assign(gated_.size(), mode); }

double SkipNetImpl::block_flops(int64_t block) const {
  const Block& b = blocks_.at(block);
  const double out = static_cast<double>(b.out_ch * b.out_size * b.out_size);
  double f = out * 2.0 * kKernel * kKernel * b.in_ch;  // conv1
  f += out * 2.0 * kKernel * kKernel * b.out_ch;       // conv2
  f += 2 * 2 * out + out;                              // bn1, bn2, relu1
  if (b.down) f += out * 2.0 * b.in_ch + 2 * out;      // 1x1 shortcut conv + bn
  f += out + out;                                      // residual add, relu2
  return f;
}

double SkipNetImpl::gate_flops() const {
  double f = 0;
  for (int64_t i : gated_) {
    const Block& b = blocks_[i];
    f += static_cast<double>(b.in_ch * b.in_size * b.in_size);  // global average pool
    f += 2.0 * b.in_ch + 1 + 1;                                 // linear to 1, sigmoid
  }
  return f;
}

double SkipNetImpl::full_flops() const {
  const SkipNetConfig& c = config_;
  const double stem_out = static_cast<double>(c.stem_channels * c.image_size * c.image_size);
  double f = stem_out * 2.0 * kKernel * kKernel * c.in_channels + 2 * stem_out + stem_out;
  f += 4.0 * c.stem_channels * stem_size_ * stem_size_;  // 2x2 max pool
  for (int64_t i = 0; i < num_blocks(); ++i) f += block_flops(i);
  f += gate_flops();
  const Block& last = blocks_.back();
  f += static_cast<double>(last.out_ch * last.out_size * last.out_size);  // average pool
  f += 2.0 * last.out_ch * c.num_classes + c.num_classes;                 // classifier
  return f;
}

double SkipNetImpl::gated_block_flops() const {
  double f = 0;
  for (int64_t i : gated_) f += block_flops(i);
  return f;
}

}  // namespace effrobust
