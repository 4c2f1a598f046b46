// Image captioner in the style of Show, Attend and Tell (the victims of
// NICGSlowDown): a small CNN encoder turns a grayscale scene into a grid of
// region features; a decoder cell (LSTM or GRU) with additive (Bahdanau)
// attention over the regions emits one token per step. Greedy decoding runs
// from <start> until <end> or max_len tokens, so the number of decoder steps
// (the D2 cost) depends on the input.
//  * Encoder: 3 x (conv 3x3 + ReLU + max-pool 2) and one more conv 3x3 +
//    ReLU: 64x64 -> 8x8 regions of `channels` features, each seeing 38x38
//    pixels (an item is 20x20), plus a learned embedding of the region's
//    position (the captions order items left to right) and of the item
//    head's class probabilities (below).
//  * Item head: a linear map of each region's feature to 11 scores (the
//    10 Fashion-MNIST classes and "no item centred here"); trained as an
//    auxiliary loss so the regions learn what the items are.
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
#include "models/input_stage.h"

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
  static constexpr int64_t kNoItem = 10;  // item class of a region with no item centred in it

  // Throws ModelError on a bad config (unknown cell, vocab < 5, size not
  // divisible by 8).
  explicit CaptionerImpl(const CaptionerConfig& config);

  // Region features [B, R, channels] of images [B, 1, S, S] in [0, 1],
  // position embedding included.
  torch::Tensor Encode(const torch::Tensor& images);
  // The encoder's pieces, for training them apart: region features before
  // the position embedding [B, R, channels]; item scores [B, R, 11] of
  // regions; what the decoder attends to (Encode = Features(Regions,
  // ItemHead(Regions))): regions + position + an embedding of the item
  // head's class probabilities.
  torch::Tensor Regions(const torch::Tensor& images);
  torch::Tensor ItemHead(const torch::Tensor& regions);
  torch::Tensor Features(const torch::Tensor& regions, const torch::Tensor& item_logits);
  // The encoder and item head's parameters (the rest is the decoder's).
  std::vector<torch::Tensor> EncoderParameters();

  // Item scores [B, R, 11] of images (class 10: no item centred in the
  // region); R in row-major order of the (S/8) x (S/8) grid.
  torch::Tensor ItemLogits(const torch::Tensor& images);
  DecoderState InitState(const torch::Tensor& features);
  // One step: logits [B, vocab] for the next token after `tokens` [B].
  torch::Tensor Step(const torch::Tensor& features, const torch::Tensor& tokens,
                     DecoderState* state);

  // Teacher forcing from Features: logits [B, T - 1, vocab].
  torch::Tensor TeacherForce(const torch::Tensor& features, const torch::Tensor& captions);

  // Teacher forcing: logits [B, T - 1, vocab] predicting captions[:, 1:]
  // from captions[:, :-1] (captions [B, T] start with <start>). If
  // `item_logits` is given, it receives ItemLogits of the same pass.
  torch::Tensor Forward(const torch::Tensor& images, const torch::Tensor& captions,
                        torch::Tensor* item_logits = nullptr);

  // Greedy decoding from <start> until <end> or max_len tokens; each sample
  // stops on its own (the batch runs until every sample stopped). The
  // logits keep the graph to the images unless called under NoGradGuard.
  // Same logits as calling Step at every step, but the attention
  // projection of the features is computed once per call.
  GreedyResult Greedy(const torch::Tensor& images, int64_t max_len);

  const CaptionerConfig& config() const { return config_; }

  // Every image goes through `stage` first (models/input_stage.h); nullptr
  // removes it.
  void set_input_stage(InputStage stage) { input_stage_ = std::move(stage); }

 private:
  // Step given projected = att_feat_(features), which does not change
  // between the steps of one decoding.
  torch::Tensor StepProjected(const torch::Tensor& features, const torch::Tensor& projected,
                              const torch::Tensor& tokens, DecoderState* state);

  CaptionerConfig config_;
  InputStage input_stage_;

  torch::nn::Sequential encoder_{nullptr};
  torch::Tensor position_;  // [R, channels]
  torch::nn::Linear item_head_{nullptr}, item_embed_{nullptr};
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
