#include "models/translator.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "common/error.h"

namespace effrobust {

namespace nn = torch::nn;

std::map<std::string, double> TranslatorConfig::ToArchConfig() const {
  return {{"cell", cell == "gru" ? 1.0 : 0.0},
          {"vocab", static_cast<double>(vocab)},
          {"embed", static_cast<double>(embed)},
          {"hidden", static_cast<double>(hidden)},
          {"attention", static_cast<double>(attention)}};
}

TranslatorConfig TranslatorConfig::FromArchConfig(const std::map<std::string, double>& arch) {
  auto get = [&](const std::string& key) {
    auto it = arch.find(key);
    if (it == arch.end()) throw ModelError("translator config has no '" + key + "'");
    return it->second;
  };
  TranslatorConfig c;
  const double cell = get("cell");
  if (cell != 0 && cell != 1) {
    throw ModelError("translator config 'cell' is " + std::to_string(cell) +
                     " (allowed: 0 = lstm, 1 = gru)");
  }
  c.cell = cell == 1 ? "gru" : "lstm";
  c.vocab = static_cast<int64_t>(get("vocab"));
  c.embed = static_cast<int64_t>(get("embed"));
  c.hidden = static_cast<int64_t>(get("hidden"));
  c.attention = static_cast<int64_t>(get("attention"));
  return c;
}

torch::Tensor EncodeBatch(const Vocabulary& vocab, const std::vector<std::string>& texts,
                          bool with_start) {
  if (!vocab.characters()) {
    throw ModelError("the translator needs a characters vocabulary, got a words vocabulary");
  }
  std::vector<std::vector<int64_t>> ids;
  size_t longest = 1;
  for (const auto& text : texts) {
    std::vector<int64_t> v = vocab.Encode(text);  // <start> ... <end>
    if (!with_start) v.erase(v.begin());
    longest = std::max(longest, v.size());
    ids.push_back(std::move(v));
  }
  torch::Tensor out =
      torch::full({static_cast<int64_t>(texts.size()), static_cast<int64_t>(longest)},
                  Vocabulary::kPad, torch::kInt64);
  int64_t* data = out.data_ptr<int64_t>();
  for (size_t b = 0; b < ids.size(); ++b) {
    std::copy(ids[b].begin(), ids[b].end(), data + b * longest);
  }
  return out;
}

TranslatorImpl::TranslatorImpl(const TranslatorConfig& config) : config_(config) {
  const auto& c = config_;
  if (c.cell != "lstm" && c.cell != "gru") {
    throw ModelError("translator cell '" + c.cell + "' (allowed: gru, lstm)");
  }
  if (c.vocab < 5 || c.embed < 1 || c.hidden < 2 || c.hidden % 2 != 0 || c.attention < 1) {
    throw ModelError(
        "translator needs vocab >= 5 (4 special tokens), an even hidden >= 2 and "
        "positive widths; got vocab " +
        std::to_string(c.vocab) + ", embed " + std::to_string(c.embed) + ", hidden " +
        std::to_string(c.hidden) + ", attention " + std::to_string(c.attention));
  }
  source_embed_ = register_module("source_embed", nn::Embedding(c.vocab, c.embed));
  target_embed_ = register_module("target_embed", nn::Embedding(c.vocab, c.embed));
  encoder_ = register_module(
      "encoder",
      nn::GRU(nn::GRUOptions(c.embed, c.hidden / 2).batch_first(true).bidirectional(true)));
  init_h_ = register_module("init_h", nn::Linear(c.hidden, c.hidden));
  if (c.cell == "lstm") {
    init_c_ = register_module("init_c", nn::Linear(c.hidden, c.hidden));
    lstm_ = register_module("lstm", nn::LSTM(nn::LSTMOptions(c.embed, c.hidden).batch_first(true)));
  } else {
    gru_ = register_module("gru", nn::GRU(nn::GRUOptions(c.embed, c.hidden).batch_first(true)));
  }
  att_key_ = register_module("att_key", nn::Linear(c.hidden, c.attention));
  att_query_ = register_module("att_query", nn::Linear(c.hidden, c.attention));
  att_v_ = register_module("att_v", nn::Linear(c.attention, 1));
  combine_ = register_module("combine", nn::Linear(2 * c.hidden, c.hidden));
  out_ = register_module("out", nn::Linear(c.hidden, c.vocab));
}

torch::Tensor TranslatorImpl::Embed(const torch::Tensor& source) {
  if (source.dim() != 2 || source.size(1) < 1) {
    throw ModelError("translator source must be ids [B, S] with S >= 1");
  }
  return source_embed_(source);
}

torch::Tensor TranslatorImpl::EmbeddingWeight() { return source_embed_->weight; }

TranslatorImpl::Encoded TranslatorImpl::Encode(const torch::Tensor& embedded,
                                               const torch::Tensor& mask, State* init) {
  if (embedded.dim() != 3 || embedded.size(2) != config_.embed || mask.dim() != 2 ||
      mask.size(0) != embedded.size(0) || mask.size(1) != embedded.size(1)) {
    throw ModelError("translator expects embeddings [B, S, " + std::to_string(config_.embed) +
                     "] and a mask [B, S]");
  }
  Encoded e;
  e.mask = mask.to(torch::kBool);
  torch::Tensor lengths = e.mask.sum(1).to(torch::kCPU, torch::kInt64);
  if (lengths.min().item<int64_t>() < 1) {
    throw ModelError("translator source with no position (mask all false)");
  }
  namespace rnn = torch::nn::utils::rnn;
  rnn::PackedSequence packed = rnn::pack_padded_sequence(embedded, lengths, /*batch_first=*/true,
                                                         /*enforce_sorted=*/false);
  auto [out_packed, h_n] = encoder_->forward_with_packed_input(packed);
  e.keys = std::get<0>(rnn::pad_packed_sequence(out_packed, /*batch_first=*/true,
                                                /*padding_value=*/0.0, embedded.size(1)));
  e.keys_proj = att_key_(e.keys);
  // h_n [2, B, hidden / 2]: last forward and last backward state.
  torch::Tensor last = torch::cat({h_n[0], h_n[1]}, 1);
  init->h = torch::tanh(init_h_(last)).unsqueeze(0);
  if (config_.cell == "lstm") init->c = torch::tanh(init_c_(last)).unsqueeze(0);
  return e;
}

torch::Tensor TranslatorImpl::Decode(const Encoded& enc, const torch::Tensor& tokens,
                                     State* state) {
  torch::Tensor in = target_embed_(tokens);  // [B, T, E]
  torch::Tensor h;                           // [B, T, hidden]
  if (config_.cell == "lstm") {
    auto [out, hc] = lstm_(in, std::make_tuple(state->h, state->c));
    h = out;
    state->h = std::get<0>(hc);
    state->c = std::get<1>(hc);
  } else {
    std::tie(h, state->h) = gru_(in, state->h);
  }
  torch::Tensor scores =
      att_v_(torch::tanh(enc.keys_proj.unsqueeze(1) + att_query_(h).unsqueeze(2)))
          .squeeze(-1);  // [B, T, S]
  scores = scores.masked_fill(enc.mask.logical_not().unsqueeze(1),
                              -std::numeric_limits<float>::infinity());
  torch::Tensor ctx = torch::bmm(torch::softmax(scores, -1), enc.keys);  // [B, T, hidden]
  return out_(torch::tanh(combine_(torch::cat({h, ctx}, -1))));
}

torch::Tensor TranslatorImpl::Forward(const torch::Tensor& source, const torch::Tensor& target) {
  if (target.dim() != 2 || target.size(0) != source.size(0) || target.size(1) < 2) {
    throw ModelError("translator target must be ids [B, T] with T >= 2 and B as the source's");
  }
  State s;
  Encoded enc = Encode(Embed(source), source != Vocabulary::kPad, &s);
  return Decode(enc, target.slice(1, 0, target.size(1) - 1), &s);
}

GreedyResult TranslatorImpl::GreedyFromEmbedded(const torch::Tensor& embedded,
                                                const torch::Tensor& mask, int64_t max_len) {
  if (max_len < 1) throw ModelError("max_len must be >= 1, got " + std::to_string(max_len));
  if (embedded.dim() == 3 && embedded.size(0) == 0) {
    GreedyResult r;
    r.logits = torch::zeros({0, 0, config_.vocab}, embedded.options());
    return r;
  }
  State s;
  Encoded enc = Encode(embedded, mask, &s);
  return GreedyDecode(embedded.size(0), embedded.device(), max_len,
                      [&](const torch::Tensor& tokens) {
                        return Decode(enc, tokens.unsqueeze(1), &s).squeeze(1);  // [B, V]
                      });
}

GreedyResult TranslatorImpl::Greedy(const torch::Tensor& source, int64_t max_len) {
  return GreedyFromEmbedded(Embed(source), source != Vocabulary::kPad, max_len);
}

}  // namespace effrobust
