// Greedy decoding shared by the sequence decoders (the attention captioner,
// the character translator and scripted captioners): what decoding a batch
// returns, and the decoding loop itself, which calls a model's step and
// applies the stop rule (each sample stops on its own at <end> or after
// max_len steps; the batch runs until every sample stopped).
// Thread-safety: GreedyDecode is reentrant; the step it calls decides.
#ifndef EFFROBUST_MODELS_DECODING_H_
#define EFFROBUST_MODELS_DECODING_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace effrobust {

// Greedy decoding of a batch.
struct GreedyResult {
  std::vector<std::vector<int64_t>> tokens;  // per sample: emitted tokens, <end> excluded
  std::vector<int64_t> steps;                // decoder steps run (tokens + 1 if <end> came)
  std::vector<bool> ended;                   // whether <end> was emitted within max_len
  torch::Tensor logits;                      // [B, max steps, vocab], every step of the batch
};

// One decoder step of a batch: the logits [B, vocab] of the next token
// after `tokens` [B] (int64, on the device GreedyDecode was given), the
// decoder's state advanced by the callee.
using GreedyStep = std::function<torch::Tensor(const torch::Tensor& tokens)>;

// Greedy decoding of `batch` sequences from <start>: calls `step` with the
// previous tokens (<start> first, then each step's argmax, detached) until
// every sample emitted <end> or max_len steps ran, and records each
// sample's tokens, steps and <end> (data/vocabulary.h ids). The logits keep
// whatever graph `step` built. Throws ModelError if max_len < 1; whatever
// `step` throws passes through.
GreedyResult GreedyDecode(int64_t batch, const torch::Device& device, int64_t max_len,
                          const GreedyStep& step);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_DECODING_H_
