#include "models/multi_exit_cnn.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace effrobust {

namespace {

constexpr int64_t kHeadPool = 2;  // ICs see 2x2 pooled feature maps

// SDN-style mixed pooling: a * maxpool(h) + (1 - a) * avgpool(h) to a fixed
// output size, with a learned scalar a (initialised to 0.5 for
// reproducibility across seeds).
class MixPoolImpl : public torch::nn::Module {
 public:
  explicit MixPoolImpl(int64_t out_size) : out_size_(out_size) {
    alpha_ = register_parameter("alpha", torch::full({1}, 0.5));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto mx = torch::adaptive_max_pool2d(x, {out_size_, out_size_});
    auto av = torch::adaptive_avg_pool2d(x, {out_size_, out_size_});
    return alpha_ * std::get<0>(mx) + (1 - alpha_) * av;
  }

 private:
  int64_t out_size_;
  torch::Tensor alpha_;
};
TORCH_MODULE(MixPool);

// 2x2 max-pool after every even-numbered block (0-based) that is not the
// last, while the map is at least 8 pixels wide: for 28x28 and 5 blocks that
// is after blocks 0 and 2 (maps 28, 14, 14, 7, 7). Pooling early keeps the
// 28x28 stage to one 16-channel conv: about half the FLOPs and training time
// of pooling after blocks 1 and 3, with the same accuracy, and a more even
// cost curve across the exits. (Measured alternatives: see the commit.)
bool PoolAfter(int64_t i, int64_t num_blocks, int64_t size_before_pool) {
  return i % 2 == 0 && i + 1 < num_blocks && size_before_pool >= 8;
}

// Total window size of 1-D adaptive pooling from `in` to `out`.
double AdaptiveWindowSum(int64_t in, int64_t out) {
  double total = 0;
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = (i * in) / out;
    const int64_t end = ((i + 1) * in + out - 1) / out;
    total += static_cast<double>(end - start);
  }
  return total;
}

}  // namespace

MultiExitCnnImpl::MultiExitCnnImpl(const MultiExitConfig& config) : config_(config) {
  if (config_.channels.empty()) throw ModelError("MultiExitConfig.channels is empty");
  if (config_.in_channels < 1 || config_.image_size < 1 || config_.num_classes < 2) {
    throw ModelError("invalid MultiExitConfig (in_channels " +
                     std::to_string(config_.in_channels) + ", image_size " +
                     std::to_string(config_.image_size) + ", num_classes " +
                     std::to_string(config_.num_classes) + ")");
  }
  const int64_t k = static_cast<int64_t>(config_.channels.size());
  int64_t cin = config_.in_channels;
  int64_t size = config_.image_size;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t cout = config_.channels[i];
    if (cout < 1) throw ModelError("MultiExitConfig.channels has a non-positive entry");
    torch::nn::Sequential block(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(cin, cout, 3).padding(1).bias(false)),
        torch::nn::BatchNorm2d(cout), torch::nn::ReLU());
    if (PoolAfter(i, k, size)) {
      block->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      size /= 2;
    }
    blocks_.push_back(register_module("block" + std::to_string(i), block));
    const int64_t pooled = std::min(size, kHeadPool);
    torch::nn::Sequential head(MixPool(pooled), torch::nn::Flatten(),
                               torch::nn::Linear(cout * pooled * pooled, config_.num_classes));
    heads_.push_back(register_module("head" + std::to_string(i), head));
    cin = cout;
  }
}

std::vector<torch::Tensor> MultiExitCnnImpl::ForwardAll(const torch::Tensor& x,
                                                         CostLedger* ledger,
                                                         std::vector<torch::Tensor>* activations) {
  if (!ledger && !activations) return ForwardAll(x);
  const double batch = static_cast<double>(x.size(0));
  std::vector<torch::Tensor> out;
  torch::Tensor h = x;
  // Runs the layers of `seq` one by one, reporting each; FLOPs per sample
  // follow ExitFlops().
  auto run = [&](torch::nn::Sequential& seq, int stage) {
    for (auto& layer : *seq) {
      torch::Tensor in = h;
      h = layer.forward(in);
      LayerUse use;
      use.input = in;
      use.output = h;
      use.stage = stage;
      const double out_elems = static_cast<double>(h.numel()) / batch;
      const double in_elems = static_cast<double>(in.numel()) / batch;
      auto module = layer.ptr();
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        const auto& w = conv->weight;
        const double per_out = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
        use.macs = out_elems * per_out;
        use.flops = 2 * use.macs;
        use.params = {w};
      } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
        use.flops = 2 * out_elems;
        use.params = {bn->weight, bn->bias};
      } else if (module->as<torch::nn::ReLU>()) {
        use.flops = out_elems;
        if (activations) activations->push_back(h);
      } else if (module->as<torch::nn::MaxPool2d>()) {
        use.flops = 4 * out_elems;
      } else if (auto* mix = module->as<MixPool>()) {
        const double window_h = AdaptiveWindowSum(in.size(2), h.size(2));
        const double window_w = AdaptiveWindowSum(in.size(3), h.size(3));
        use.flops = 2 * window_h * window_w * static_cast<double>(in.size(1)) + 3 * out_elems;
        use.params = {mix->named_parameters()["alpha"]};
      } else if (auto* fc = module->as<torch::nn::Linear>()) {
        use.macs = in_elems * out_elems;
        use.flops = 2 * use.macs + out_elems;
        use.params = {fc->weight, fc->bias};
      }
      if (ledger) ledger->Add(use);
    }
  };
  for (size_t i = 0; i < blocks_.size(); ++i) {
    run(blocks_[i], static_cast<int>(i));
    torch::Tensor features = h;
    run(heads_[i], static_cast<int>(i));
    out.push_back(h);
    h = features;
  }
  return out;
}

std::vector<torch::Tensor> MultiExitCnnImpl::ForwardAll(const torch::Tensor& x) {
  return ForwardExits(x, blocks_.size());
}

std::vector<torch::Tensor> MultiExitCnnImpl::ForwardExits(const torch::Tensor& x, size_t count) {
  if (count > blocks_.size()) {
    throw ModelError("ForwardExits: " + std::to_string(count) + " exits asked of a model with " +
                     std::to_string(blocks_.size()));
  }
  std::vector<torch::Tensor> out;
  out.reserve(count);
  torch::Tensor h = x;
  for (size_t i = 0; i < count; ++i) {
    h = blocks_[i]->forward(h);
    out.push_back(heads_[i]->forward(h));
  }
  return out;
}

std::pair<int, torch::Tensor> MultiExitCnnImpl::ForwardEarlyExit(const torch::Tensor& x,
                                                                 double q, int max_exits) {
  if (x.dim() != 4 || x.size(0) != 1) {
    throw ModelError("ForwardEarlyExit needs one sample [1, C, H, W], got " +
                     std::to_string(x.dim()) + "-d input" +
                     (x.dim() > 0 ? " with batch " + std::to_string(x.size(0)) : ""));
  }
  const int k = max_exits > 0 ? std::min(max_exits, num_exits()) : num_exits();
  torch::Tensor h = x;
  for (int i = 0; i < k; ++i) {
    h = blocks_[i]->forward(h);
    torch::Tensor logits = heads_[i]->forward(h);
    if (i + 1 == k) return {i, logits};
    const double conf = torch::softmax(logits, 1).max().item<double>();
    if (conf >= q) return {i, logits};
  }
  return {k - 1, torch::Tensor()};  // unreachable
}

int MultiExitCnnImpl::num_exits() const { return static_cast<int>(blocks_.size()); }

std::vector<double> MultiExitCnnImpl::ExitFlops() const {
  // Conv (no bias, followed by BN): out*(2*3*3*Cin); BN 2/elem; ReLU 1/elem;
  // block max-pool 2x2: 4 per output. Head: max and avg adaptive pooling
  // (window size per output each) + 3 per output to mix them; Linear
  // 2*in*out + out.
  std::vector<double> cumulative;
  const int64_t k = static_cast<int64_t>(config_.channels.size());
  int64_t cin = config_.in_channels;
  int64_t size = config_.image_size;
  double total = 0;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t cout = config_.channels[i];
    const double out_elems = static_cast<double>(cout * size * size);
    total += out_elems * (2.0 * 3 * 3 * cin);  // conv
    total += 2 * out_elems;                    // batch norm
    total += out_elems;                        // relu
    if (PoolAfter(i, k, size)) {
      size /= 2;
      total += 4.0 * cout * size * size;       // 2x2 max pool
    }
    const int64_t pooled = std::min(size, kHeadPool);
    const double window = AdaptiveWindowSum(size, pooled);  // per axis
    const double pool_ops = window * window * cout;          // one pooling
    total += 2 * pool_ops + 3.0 * cout * pooled * pooled;    // max + avg + mix
    const double in_features = static_cast<double>(cout * pooled * pooled);
    total += 2 * in_features * config_.num_classes + config_.num_classes;  // linear
    cumulative.push_back(total);
    cin = cout;
  }
  return cumulative;
}

}  // namespace effrobust
