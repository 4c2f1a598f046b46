// What greedy decoding of a batch returns, shared by the sequence decoders
// (the attention captioner and the character translator). A plain value.
#ifndef EFFROBUST_MODELS_DECODING_H_
#define EFFROBUST_MODELS_DECODING_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace effrobust {

// Greedy decoding of a batch.
struct GreedyResult {
  std::vector<std::vector<int64_t>> tokens;  // per sample: emitted tokens, <end> excluded
  std::vector<int64_t> steps;                // decoder steps run (tokens + 1 if <end> came)
  std::vector<bool> ended;                   // whether <end> was emitted within max_len
  torch::Tensor logits;                      // [B, max steps, vocab], every step of the batch
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_DECODING_H_
