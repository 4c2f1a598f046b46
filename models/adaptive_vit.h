// A-ViT-style adaptive-token vision transformer (Yin et al., CVPR 2022) for
// small images: patch embedding (no class token: T = (size/patch)^2 patch
// tokens; token depth counts exactly these T tokens), `depth` pre-norm
// transformer blocks (multi-head attention, GELU MLP), per-token halting.
//
// Halting (attacks.md 4.1): after block l, token k's halting score is
// h_k^l = sigmoid(gate_scale * e_{k,0}^l - gate_center), e_{k,0}^l the first
// channel of its embedding; h is forced to 1 in the last block. c_k sums the
// scores; the token halts once c_k >= 1 - halt_eps. A halted token is masked
// out of attention (as query, key and value) and of the MLP in later blocks
// and its embedding is frozen. The token's output is the halting-weighted sum
// of its block outputs (weight h while running, the remainder R_k = 1 - the
// previous scores' sum at the halting block); ponder cost rho_k = blocks run
// + R_k. Class logits: head(LayerNorm(mean over tokens of the outputs)).
// With halting disabled every token runs every block and its output is the
// last block's embedding (a plain ViT).
// Thread-safety: like any torch::nn::Module.
#ifndef EFFROBUST_MODELS_ADAPTIVE_VIT_H_
#define EFFROBUST_MODELS_ADAPTIVE_VIT_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/cost_ledger.h"

namespace effrobust {

struct AdaptiveVitConfig {
  int64_t in_channels = 1;   // Default: 1 (Fashion-MNIST)
  int64_t image_size = 28;   // Default: 28
  int64_t num_classes = 10;  // Default: 10
  int64_t patch = 4;         // Default: 4 (49 tokens on 28x28)
  int64_t dim = 64;          // Default: 64
  int64_t depth = 6;         // Default: 6 blocks
  int64_t heads = 4;         // Default: 4
  int64_t mlp_ratio = 2;     // Default: 2 (hidden = 128)
  double gate_scale = 5;     // Default: 5 (gamma)
  double gate_center = 5;    // Default: 5 (beta)
  double halt_eps = 0.01;    // Default: 0.01

  int64_t tokens() const { return (image_size / patch) * (image_size / patch); }
  int64_t hidden() const { return dim * mlp_ratio; }
  // As ModelMetadata::arch_config (in_channels/image_size/num_classes live
  // in ModelMetadata::config) and back; FromArchConfig throws ModelError on
  // a missing key.
  std::map<std::string, double> ToArchConfig() const;
  static AdaptiveVitConfig FromArchConfig(int64_t in_channels, int64_t image_size,
                                          int64_t num_classes,
                                          const std::map<std::string, double>& arch);
};

// One pass over a batch.
struct AdaptiveVitOutput {
  torch::Tensor logits;   // [B, classes]
  torch::Tensor ponder;   // [B, T] rho_k
  torch::Tensor halting;  // [B, L, T] h_k^l (0 where the token no longer ran)
  torch::Tensor active;  // [B, L] tokens that ran each block (float)
};

class AdaptiveVitImpl : public torch::nn::Module {
 public:
  explicit AdaptiveVitImpl(const AdaptiveVitConfig& config = AdaptiveVitConfig());

  // Differentiable masked pass over a batch [B, C, H, W]: every token is
  // computed, halted ones are masked, so each sample behaves as alone (up
  // to floating-point rounding). If `ledger` is given, every layer is
  // reported with share = active tokens / T (attention score/context and
  // softmax: (active / T)^2, the active pairs); if `activations` is given,
  // every GELU output [B, T, hidden] is appended with halted tokens zeroed.
  AdaptiveVitOutput Run(const torch::Tensor& x, CostLedger* ledger = nullptr,
                        std::vector<torch::Tensor>* activations = nullptr);

  // Dynamic inference of ONE sample [1, C, H, W] that gathers the active
  // tokens before each block, so halted tokens cost nothing. Returns the
  // logits [1, classes] and sets *token_depth (active token-blocks / all).
  // Call under NoGradGuard.
  torch::Tensor InferGathered(const torch::Tensor& x, double* token_depth);

  // Halting switch (default on). Off: every token runs every block.
  void set_halting(bool on) { halting_ = on; }
  bool halting() const { return halting_; }

  // Test hook: token k is forced to halt after block halt_after[k] (-1: as
  // its scores decide). Empty: none forced.
  void ForceHalt(std::vector<int64_t> halt_after) { forced_ = std::move(halt_after); }

  const AdaptiveVitConfig& config() const { return config_; }

  // FLOPs of one sample with every token running every block (the
  // conventions of Run's ledger; see adaptive_vit.cpp).
  double FullFlops() const;

 private:
  struct Block {
    torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
    torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  };
  torch::Tensor Embed(const torch::Tensor& x, CostLedger* ledger);
  torch::Tensor Head(const torch::Tensor& tokens, CostLedger* ledger);
  bool Forced(int64_t token, int64_t layer) const;

  AdaptiveVitConfig config_;
  bool halting_ = true;
  std::vector<int64_t> forced_;
  torch::nn::Linear embed_{nullptr};
  torch::Tensor pos_;
  std::vector<Block> blocks_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(AdaptiveVit);

// A-ViT's distribution prior: KL(target || mean halting distribution over
// blocks), target a Gaussian over block indices centred at `target_depth`
// (in blocks) with std 1, as a scalar. halting: [B, L, T].
torch::Tensor HaltingPriorKl(const torch::Tensor& halting, double target_depth);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_ADAPTIVE_VIT_H_
