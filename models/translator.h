// Character-level English->German word translator (the victim of NMTSloth):
// an RNN encoder-decoder with additive (Bahdanau-style) attention over one
// character vocabulary shared by source and target (data/vocabulary.h in
// characters mode: one token per byte, so an umlaut is two tokens). Greedy
// decoding runs from <start> until <end> or max_len tokens, so the number
// of decoder steps (the D2 cost) depends on the input.
//  * Source ids [B, S]: the characters then <end>, no <start>, <pad> after.
//  * Encoder: source embedding (embed) -> bidirectional GRU of hidden / 2
//    units per direction over the true length of each source (packed, so
//    padding never changes a result): annotations [B, S, hidden].
//  * State init: h0 (and c0 for an LSTM) = tanh(linear([last forward
//    state, last backward state])).
//  * Step t: h_t = cell(target_embed(y_{t-1}), h_{t-1});
//    a = softmax_s over non-pad s of v . tanh(W_k k_s + W_q h_t);
//    ctx = sum_s a_s k_s; logits = out(tanh(W_c [h_t, ctx])).
//    (The query is the new state, so teacher forcing runs the cell over the
//    whole target at once.)
// Thread-safety: like any torch::nn::Module.
#ifndef EFFROBUST_MODELS_TRANSLATOR_H_
#define EFFROBUST_MODELS_TRANSLATOR_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "data/vocabulary.h"
#include "models/decoding.h"

namespace effrobust {

struct TranslatorConfig {
  std::string cell = "gru";  // Default: gru (decoder cell, "gru" or "lstm"; the encoder is a GRU)
  int64_t vocab = 0;         // number of tokens, specials included (required, >= 5)
  int64_t embed = 64;        // Default: 64 (character embedding, source and target)
  int64_t hidden = 256;      // Default: 256 (decoder state; even: encoder is 2 x hidden / 2)
  int64_t attention = 128;   // Default: 128 (attention projection)

  // As ModelMetadata::arch_config (cell as 0 = lstm, 1 = gru, as for the
  // captioner) and back;
  // FromArchConfig ignores other keys and throws ModelError on a
  // missing key or a bad cell value.
  std::map<std::string, double> ToArchConfig() const;
  static TranslatorConfig FromArchConfig(const std::map<std::string, double>& arch);
};

// Source ids [B, S] (with_start false: characters + <end>) or target ids
// [B, T] (with_start true: <start> + characters + <end>) of `texts`, padded
// with <pad>; characters outside the vocabulary become <unk>. Throws
// ModelError if `vocab` is not a characters vocabulary. An empty `texts`
// gives [0, 1].
torch::Tensor EncodeBatch(const Vocabulary& vocab, const std::vector<std::string>& texts,
                          bool with_start);

class TranslatorImpl : public torch::nn::Module {
 public:
  // Throws ModelError on a bad config (unknown cell, vocab < 5, odd hidden,
  // non-positive width).
  explicit TranslatorImpl(const TranslatorConfig& config);

  // Source embeddings [B, S, embed] of source ids [B, S].
  torch::Tensor Embed(const torch::Tensor& source);

  // Greedy decoding from source embeddings [B, S, embed] and their mask
  // [B, S] (true on real positions, <end> included; every row needs one,
  // and the true positions must come first); each sample stops on its own at
  // <end> or after max_len steps (the batch runs until every sample
  // stopped). The logits keep the graph to `embedded` (and the parameters)
  // unless called under NoGradGuard. An empty batch gives empty vectors and
  // logits [0, 0, vocab]. Throws ModelError on max_len < 1, mismatched
  // shapes or a row without a true position.
  GreedyResult GreedyFromEmbedded(const torch::Tensor& embedded, const torch::Tensor& mask,
                                  int64_t max_len);

  // GreedyFromEmbedded(Embed(source), source != <pad>, max_len).
  GreedyResult Greedy(const torch::Tensor& source, int64_t max_len);

  // Teacher forcing: logits [B, T - 1, vocab] predicting target[:, 1:] from
  // target[:, :-1] (target [B, T] starts with <start>).
  torch::Tensor Forward(const torch::Tensor& source, const torch::Tensor& target);

  // The source embedding matrix [vocab, embed] (shares storage and grad mode
  // with the parameter).
  torch::Tensor EmbeddingWeight();

  const TranslatorConfig& config() const { return config_; }

 private:
  struct Encoded {
    torch::Tensor keys;       // annotations [B, S, hidden]
    torch::Tensor keys_proj;  // W_k keys [B, S, attention]
    torch::Tensor mask;       // [B, S] bool
  };
  // Decoder state (c undefined for a GRU), [1, B, hidden] each.
  struct State {
    torch::Tensor h;
    torch::Tensor c;
  };
  Encoded Encode(const torch::Tensor& embedded, const torch::Tensor& mask, State* init);
  // Runs the cell over target ids [B, T] from `state` (updated): logits
  // [B, T, vocab].
  torch::Tensor Decode(const Encoded& enc, const torch::Tensor& tokens, State* state);

  TranslatorConfig config_;
  torch::nn::Embedding source_embed_{nullptr}, target_embed_{nullptr};
  torch::nn::GRU encoder_{nullptr};
  torch::nn::Linear init_h_{nullptr}, init_c_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear att_key_{nullptr}, att_query_{nullptr}, att_v_{nullptr};
  torch::nn::Linear combine_{nullptr}, out_{nullptr};
};
TORCH_MODULE(Translator);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_TRANSLATOR_H_
