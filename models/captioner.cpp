#include "models/captioner.h"

#include "common/error.h"
#include "data/vocabulary.h"

namespace effrobust {

namespace nn = torch::nn;

std::map<std::string, double> CaptionerConfig::ToArchConfig() const {
  return {{"cell", cell == "gru" ? 1.0 : 0.0},
          {"vocab", static_cast<double>(vocab)},
          {"width", static_cast<double>(channels)},  // "channels" is a ModelConfig field
          {"embed", static_cast<double>(embed)},
          {"hidden", static_cast<double>(hidden)},
          {"attention", static_cast<double>(attention)}};
}

CaptionerConfig CaptionerConfig::FromArchConfig(int64_t image_size,
                                                const std::map<std::string, double>& arch) {
  auto get = [&](const std::string& key) {
    auto it = arch.find(key);
    if (it == arch.end()) throw ModelError("captioner config has no '" + key + "'");
    return it->second;
  };
  CaptionerConfig c;
  c.image_size = image_size;
  const double cell = get("cell");
  if (cell != 0 && cell != 1) {
    throw ModelError("captioner config 'cell' is " + std::to_string(cell) +
                     " (allowed: 0 = lstm, 1 = gru)");
  }
  c.cell = cell == 1 ? "gru" : "lstm";
  c.vocab = static_cast<int64_t>(get("vocab"));
  c.channels = static_cast<int64_t>(get("width"));
  c.embed = static_cast<int64_t>(get("embed"));
  c.hidden = static_cast<int64_t>(get("hidden"));
  c.attention = static_cast<int64_t>(get("attention"));
  return c;
}

CaptionerImpl::CaptionerImpl(const CaptionerConfig& config) : config_(config) {
  const auto& c = config_;
  if (c.cell != "lstm" && c.cell != "gru") {
    throw ModelError("captioner cell '" + c.cell + "' (allowed: lstm, gru)");
  }
  if (c.vocab < 5 || c.image_size < 8 || c.image_size % 8 != 0 || c.channels < 4 || c.embed < 1 ||
      c.hidden < 1 || c.attention < 1) {
    throw ModelError("captioner needs vocab >= 5 (4 special tokens), an image size divisible by 8, "
                     "channels >= 4 and positive widths; got vocab " + std::to_string(c.vocab) + ", size " +
                     std::to_string(c.image_size));
  }
  const int64_t w = c.channels;
  auto conv = [](int64_t in, int64_t out) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
  };
  encoder_ = register_module(
      "encoder", nn::Sequential(conv(1, w / 4), nn::ReLU(), nn::MaxPool2d(2), conv(w / 4, w / 2),
                                nn::ReLU(), nn::MaxPool2d(2), conv(w / 2, w), nn::ReLU(),
                                nn::MaxPool2d(2), conv(w, w), nn::ReLU()));
  const int64_t regions = (c.image_size / 8) * (c.image_size / 8);
  position_ = register_parameter("position", torch::randn({regions, w}) * 0.1);
  item_head_ = register_module("item_head", nn::Linear(w, kNoItem + 1));
  item_embed_ = register_module("item_embed", nn::Linear(kNoItem + 1, w));
  init_h_ = register_module("init_h", nn::Linear(w, c.hidden));
  if (c.cell == "lstm") init_c_ = register_module("init_c", nn::Linear(w, c.hidden));
  embed_ = register_module("embed", nn::Embedding(c.vocab, c.embed));
  att_feat_ = register_module("att_feat", nn::Linear(w, c.attention));
  att_hidden_ = register_module("att_hidden", nn::Linear(c.hidden, c.attention));
  att_v_ = register_module("att_v", nn::Linear(c.attention, 1));
  if (c.cell == "lstm") {
    lstm_ = register_module("lstm", nn::LSTMCell(c.embed + w, c.hidden));
  } else {
    gru_ = register_module("gru", nn::GRUCell(c.embed + w, c.hidden));
  }
  out_ = register_module("out", nn::Linear(c.hidden + w, c.vocab));
}

torch::Tensor CaptionerImpl::Regions(const torch::Tensor& images) {
  const auto& c = config_;
  if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != c.image_size ||
      images.size(3) != c.image_size) {
    throw ModelError("captioner expects [B, 1, " + std::to_string(c.image_size) + ", " +
                     std::to_string(c.image_size) + "]");
  }
  torch::Tensor f = encoder_->forward(input_stage_ ? input_stage_(images) : images);  // [B, C, S/8, S/8]
  return f.flatten(2).transpose(1, 2);          // [B, R, C]
}

torch::Tensor CaptionerImpl::Features(const torch::Tensor& regions,
                                      const torch::Tensor& item_logits) {
  return regions + position_ + item_embed_(torch::log_softmax(item_logits, -1));
}

torch::Tensor CaptionerImpl::Encode(const torch::Tensor& images) {
  torch::Tensor regions = Regions(images);
  return Features(regions, item_head_(regions));
}

torch::Tensor CaptionerImpl::ItemHead(const torch::Tensor& regions) { return item_head_(regions); }

std::vector<torch::Tensor> CaptionerImpl::EncoderParameters() {
  std::vector<torch::Tensor> out = encoder_->parameters();
  for (const auto& p : item_head_->parameters()) out.push_back(p);
  return out;
}

torch::Tensor CaptionerImpl::ItemLogits(const torch::Tensor& images) {
  return item_head_(Regions(images));
}

DecoderState CaptionerImpl::InitState(const torch::Tensor& features) {
  torch::Tensor mean = features.mean(1);
  DecoderState s;
  s.h = torch::tanh(init_h_(mean));
  if (config_.cell == "lstm") s.c = torch::tanh(init_c_(mean));
  return s;
}

torch::Tensor CaptionerImpl::Step(const torch::Tensor& features, const torch::Tensor& tokens,
                                  DecoderState* state) {
  return StepProjected(features, att_feat_(features), tokens, state);
}

torch::Tensor CaptionerImpl::StepProjected(const torch::Tensor& features,
                                           const torch::Tensor& projected,
                                           const torch::Tensor& tokens, DecoderState* state) {
  torch::Tensor e = embed_(tokens);  // [B, E]
  torch::Tensor scores =
      att_v_(torch::tanh(projected + att_hidden_(state->h).unsqueeze(1))).squeeze(-1);  // [B, R]
  torch::Tensor alpha = torch::softmax(scores, 1);
  torch::Tensor ctx = (alpha.unsqueeze(-1) * features).sum(1);              // [B, C]
  torch::Tensor in = torch::cat({e, ctx}, 1);
  if (config_.cell == "lstm") {
    auto hc = lstm_(in, std::make_tuple(state->h, state->c));
    state->h = std::get<0>(hc);
    state->c = std::get<1>(hc);
  } else {
    state->h = gru_(in, state->h);
  }
  return out_(torch::cat({state->h, ctx}, 1));
}

torch::Tensor CaptionerImpl::Forward(const torch::Tensor& images, const torch::Tensor& captions,
                                     torch::Tensor* item_logits) {
  torch::Tensor regions = Regions(images);
  torch::Tensor items = item_head_(regions);
  if (item_logits != nullptr) *item_logits = items;
  return TeacherForce(Features(regions, items), captions);
}

torch::Tensor CaptionerImpl::TeacherForce(const torch::Tensor& f, const torch::Tensor& captions) {
  DecoderState s = InitState(f);
  std::vector<torch::Tensor> logits;
  for (int64_t t = 0; t + 1 < captions.size(1); ++t) {
    logits.push_back(Step(f, captions.select(1, t), &s));
  }
  return torch::stack(logits, 1);
}

GreedyResult CaptionerImpl::Greedy(const torch::Tensor& images, int64_t max_len) {
  if (max_len < 1) throw ModelError("max_len must be >= 1, got " + std::to_string(max_len));
  torch::Tensor f = Encode(images);
  const torch::Tensor projected = att_feat_(f);  // the same at every step
  DecoderState s = InitState(f);
  return GreedyDecode(images.size(0), images.device(), max_len, [&](const torch::Tensor& tokens) {
    return StepProjected(f, projected, tokens, &s);
  });
}

}  // namespace effrobust
