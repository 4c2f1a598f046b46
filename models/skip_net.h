// SkipNet-style gated residual network (Wang et al., ECCV 2018) for small
// images: a stem (3x3 conv, BN, ReLU, 2x2 max-pool), residual basic blocks
// in stages, global average pooling and a linear classifier. The first block
// of every stage but the first changes width and resolution and always runs
// (as in SkipNet); every other block has a feed-forward gate computed from
// the block input, P(run) = sigmoid(Linear(GlobalAvgPool(h))), and at
// inference runs iff P(run) > 0.5; a skipped block is the identity.
// Block indices count all blocks (0 .. num_blocks()-1); gated blocks are
// numbered 0 .. num_gates()-1 in order (gated_block(j) maps them).
// Thread-safety: like any torch::nn::Module (no concurrent forward with
// training or with set_gate_override).
#ifndef EFFROBUST_MODELS_SKIP_NET_H_
#define EFFROBUST_MODELS_SKIP_NET_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/cost_ledger.h"

namespace effrobust {

struct SkipNetConfig {
  int64_t in_channels = 1;       // Default: 1 (Fashion-MNIST)
  int64_t image_size = 28;       // Default: 28
  int64_t num_classes = 10;      // Default: 10
  int64_t stem_channels = 16;    // Default: 16 (stage 0 width)
  int64_t stages = 3;            // Default: 3 (widths 16, 32, 64)
  int64_t blocks_per_stage = 2;  // Default: 2 (4 gated blocks of 6)

  // As ModelMetadata::arch_config and back. FromArchConfig throws
  // ModelError on a missing or invalid key.
  std::map<std::string, double> ToArchConfig() const;
  static SkipNetConfig FromArchConfig(int64_t in_channels, int64_t image_size, int64_t num_classes,
                                      const std::map<std::string, double>& arch_config);
};

// How a gate decides: by its probability, or forced.
enum class GateMode { kAuto, kForceOn, kForceOff };

// One pass of the network over a batch.
struct SkipNetPass {
  torch::Tensor logits;              // [B, classes]
  std::vector<torch::Tensor> gates;  // per gated block: P(run) [B]
  std::vector<torch::Tensor> masks;  // per gated block: executed 0/1 [B]
};

class SkipNetImpl : public torch::nn::Module {
 public:
  // Throws ModelError on an invalid config.
  explicit SkipNetImpl(const SkipNetConfig& config = SkipNetConfig());

  // Forward of a batch [B, C, H, W] in which every sample takes its own
  // dynamic path: gated block j runs for sample b iff mask[j][b] = 1, where
  // the mask is (in order of precedence) `mask_override[j]` if given (a [B]
  // 0/1 tensor, training only), the gate's forced mode, or P(run) > 0.5.
  // The mask is a straight-through hard gate: 0/1 in the forward pass, the
  // gradient of P(run) in the backward pass, so logits are differentiable
  // w.r.t. the input and the gates. Reports every layer to `ledger` (block
  // layers with share = mask) and appends every ReLU output to
  // `activations`; either may be null.
  SkipNetPass ForwardGated(const torch::Tensor& x, CostLedger* ledger = nullptr,
                           std::vector<torch::Tensor>* activations = nullptr,
                           const std::vector<torch::Tensor>* mask_override = nullptr);

  // Dynamic inference of ONE sample [1, C, H, W] that computes only the
  // blocks that run (gates always run). Returns the logits [1, classes] and
  // whether each gated block ran. Call under NoGradGuard/eval.
  torch::Tensor InferDynamic(const torch::Tensor& x, std::vector<bool>* ran = nullptr);

  // Forces gated block `gate` on/off, or back to its gate (kAuto). Throws
  // ModelError on an out-of-range index.
  void set_gate_override(int64_t gate, GateMode mode);
  void set_all_gates(GateMode mode);
  GateMode gate_override(int64_t gate) const { return overrides_.at(gate); }

  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int64_t num_gates() const { return static_cast<int64_t>(gated_.size()); }
  int64_t gated_block(int64_t gate) const { return gated_.at(gate); }
  const SkipNetConfig& config() const { return config_; }

  // Analytic FLOPs per sample (the conventions of multi_exit_cnn.h: conv
  // out_elems*2*k*k*Cin, BN 2/elem, ReLU 1/elem, residual add 1/elem,
  // pooling window per output, linear 2*in*out+out, sigmoid 1).
  double block_flops(int64_t block) const;  // the block's layers, not its gate
  double gate_flops() const;                // sum over all gates
  double full_flops() const;                // every block run, gates included
  double gated_block_flops() const;         // sum of block_flops over gated blocks

 private:
  struct Block {
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, down{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, down_bn{nullptr};
    torch::nn::Linear gate{nullptr};  // null for always-run blocks
    int64_t in_ch = 0, out_ch = 0, stride = 1, in_size = 0, out_size = 0;
  };
  // The residual branch plus shortcut and final ReLU of `b`, reporting its
  // layers with `share` when `ledger` is set.
  torch::Tensor RunBlock(Block& b, const torch::Tensor& h, CostLedger* ledger,
                         const torch::Tensor& share, std::vector<torch::Tensor>* activations);

  SkipNetConfig config_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::vector<Block> blocks_;
  std::vector<int64_t> gated_;       // block index of each gated block
  std::vector<GateMode> overrides_;  // per gated block
  int64_t stem_size_ = 0;            // map size after the stem's pooling
};
TORCH_MODULE(SkipNet);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_SKIP_NET_H_
