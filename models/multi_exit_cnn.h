// Multi-exit CNN (Shallow-Deep-Network style): a stack of conv blocks with
// an internal classifier (IC) after every block but the last, and the final
// classifier after the last block. Exits are numbered 0..K-1; K-1 is final.
// Thread-safety: like any torch::nn::Module (no concurrent forward with
// training).
#ifndef EFFROBUST_MODELS_MULTI_EXIT_CNN_H_
#define EFFROBUST_MODELS_MULTI_EXIT_CNN_H_

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "models/cost_ledger.h"

namespace effrobust {

struct MultiExitConfig {
  int64_t in_channels = 1;     // Default: 1 (Fashion-MNIST)
  int64_t image_size = 28;     // Default: 28
  int64_t num_classes = 10;    // Default: 10
  // Output channels of each block; K = channels.size() exits.
  std::vector<int64_t> channels = {16, 32, 32, 64, 64};
};

class MultiExitCnnImpl : public torch::nn::Module {
 public:
  explicit MultiExitCnnImpl(const MultiExitConfig& config = MultiExitConfig());

  // Logits of every exit for a batch [B, C, H, W]: K tensors [B, classes],
  // computed in one differentiable pass (what attacks and training use).
  std::vector<torch::Tensor> ForwardAll(const torch::Tensor& x);

  // The logits of the first `count` exits (0 <= count <= K), running only the
  // blocks they need: ForwardAll(x) cut to `count` entries, bit for bit.
  std::vector<torch::Tensor> ForwardExits(const torch::Tensor& x, size_t count);

  // ForwardAll that also reports every layer to `ledger` (stage = block
  // index; FLOPs by the ExitFlops() conventions) and, if `activations` is
  // given, appends every ReLU output to it. Either may be null.
  std::vector<torch::Tensor> ForwardAll(const torch::Tensor& x, CostLedger* ledger,
                                        std::vector<torch::Tensor>* activations);

  // Dynamic inference for ONE sample [1, C, H, W]: runs blocks in order and
  // stops at the first IC whose max softmax >= q (else the final exit), or
  // at IC `max_exits` - 1 when max_exits > 0 (a runtime cap: forced exit).
  // Returns {exit index, logits [1, classes]}. Call under NoGradGuard/eval.
  std::pair<int, torch::Tensor> ForwardEarlyExit(const torch::Tensor& x, double q,
                                                 int max_exits = 0);

  int num_exits() const;
  const MultiExitConfig& config() const { return config_; }

  // Analytic FLOPs to reach each exit, cumulative: backbone blocks up to
  // and including block i plus the heads of ICs 0..i (all evaluated on the
  // way). Conv: out_elems*(2*k*k*Cin) (+out_elems for bias); BN 2 per
  // element; ReLU 1; pooling k*k per output; linear 2*in*out(+out).
  std::vector<double> ExitFlops() const;

 private:
  MultiExitConfig config_;
  // One Sequential per block; one Sequential per exit head (K heads).
  std::vector<torch::nn::Sequential> blocks_;
  std::vector<torch::nn::Sequential> heads_;
};
TORCH_MODULE(MultiExitCnn);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_MULTI_EXIT_CNN_H_
