// Image captioner in the style of Show, Attend and Tell (the victims of
// NICGSlowDown): a small CNN encoder turns a grayscale scene into a grid of
// region features; a decoder cell (LSTM or GRU) with additive (Bahdanau)
// attention over the regions emits one token per step. Greedy decoding runs
// from <start> until <end> or max_len tokens, so the number of decoder steps
// (the D2 cost) depends on the input.
//  * Encoder: 3 x (conv 3x3 + ReLU + max-pool 2): 64x64 -> 8x8 regions of
//    `channels` features.
//  * State init: h0 (and c0 for LSTM) = tanh(linear(mean region feature)).
//  * Step: e = embed(token); a = softmax_r(v . tanh(W_f f_r + W_h h));
//    ctx = sum_r a_r f_r; h = cell([e, ctx], h); logits = out([h, ctx]).
// Thread-safety: like any torch::nn::Module.
#ifndef EFFROBUST_MODELS_CAPTIONER_H_
#define EFFROBUST_MODELS_CAPTIONER_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/decoding.h"

namespace effrobust {

struct CaptionerConfig {
  std::string cell = "lstm";  // Default: lstm ("lstm" or "gru")
  int64_t image_size = 64;    // Default: 64 (square, 1 channel; divisible by 8)
  int64_t vocab = 0;          // number of tokens, specials included (required)
  int64_t channels = 64;      // Default: 64 (encoder width, region feature size)
  int64_t embed = 64;         // Default: 64 (token embedding)
  int64_t hidden = 128;       // Default: 128 (decoder state)
  int64_t attention = 64;     // Default: 64 (attention projection)

  // As ModelMetadata::arch_config (cell as 0 = lstm, 1 = gru) and back;
  // FromArchConfig throws ModelError on a missing key or bad value.
  std::map<std::string, double> ToArchConfig() const;
  static CaptionerConfig FromArchConfig(int64_t image_size,
                                        const std::map<std::string, double>& arch);
};

// Decoder state: h, and c for an LSTM (undefined for a GRU).
struct DecoderState {
  torch::Tensor h;
  torch::Tensor c;
};

class CaptionerImpl : public torch::nn::Module {
 public:
  // Throws ModelError on a bad config (unknown cell, vocab < 5, size not
  // divisible by 8).
  explicit CaptionerImpl(const CaptionerConfig& config);

  // Region features [B, R, channels] of images [B, 1, S, S] in [0, 1].
  torch::Tensor Encode(const torch::Tensor& images);
  DecoderState InitState(const torch::Tensor& features);
  // One step: logits [B, vocab] for the next token after `tokens` [B].
  torch::Tensor Step(const torch::Tensor& features, const torch::Tensor& tokens,
                     DecoderState* state);

  // Teacher forcing: logits [B, T - 1, vocab] predicting captions[:, 1:]
  // from captions[:, :-1] (captions [B, T] start with <start>).
  torch::Tensor Forward(const torch::Tensor& images, const torch::Tensor& captions);

  // Greedy decoding from <start> until <end> or max_len tokens; each sample
  // stops on its own (the batch runs until every sample stopped). The
  // logits keep the graph to the images unless called under NoGradGuard.
  GreedyResult Greedy(const torch::Tensor& images, int64_t max_len);

  const CaptionerConfig& config() const { return config_; }

 private:
  CaptionerConfig config_;
  torch::nn::Sequential encoder_{nullptr};
  torch::nn::Linear init_h_{nullptr}, init_c_{nullptr};
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Linear att_feat_{nullptr}, att_hidden_{nullptr}, att_v_{nullptr};
  torch::nn::LSTMCell lstm_{nullptr};
  torch::nn::GRUCell gru_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Captioner);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_CAPTIONER_H_
