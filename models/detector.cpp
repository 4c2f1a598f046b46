#include "models/detector.h"

#include <cmath>

#include "common/error.h"

namespace effrobust {

namespace nn = torch::nn;

std::map<std::string, double> DetectorConfig::ToArchConfig() const {
  // "width", not "channels": "channels" is a ModelConfig field.
  return {{"classes", static_cast<double>(classes)},
          {"width", static_cast<double>(width)},
          {"anchor", anchor}};
}

DetectorConfig DetectorConfig::FromArchConfig(int64_t image_size,
                                              const std::map<std::string, double>& arch) {
  auto get = [&](const std::string& key) {
    auto it = arch.find(key);
    if (it == arch.end()) throw ModelError("detector config has no '" + key + "'");
    if (!std::isfinite(it->second)) {
      throw ModelError("detector config '" + key + "' is not finite");
    }
    return it->second;
  };
  DetectorConfig c;
  c.image_size = image_size;
  c.classes = static_cast<int64_t>(get("classes"));
  c.width = static_cast<int64_t>(get("width"));
  c.anchor = get("anchor");
  return c;
}

DetectorImpl::DetectorImpl(const DetectorConfig& config) : config_(config) {
  const auto& c = config_;
  if (c.image_size < kStride || c.image_size % kStride != 0 || c.width < 4 || c.width % 4 != 0 ||
      c.classes < 1 || !(c.anchor > 0)) {
    throw ModelError(
        "detector needs an image size divisible by 8, width divisible by 4, "
        "classes >= 1 and anchor > 0; got size " +
        std::to_string(c.image_size) + ", width " + std::to_string(c.width) + ", classes " +
        std::to_string(c.classes) + ", anchor " + std::to_string(c.anchor));
  }
  const int64_t w = c.width;
  // conv 3x3 + batch norm + ReLU.
  auto block = [](nn::Sequential& seq, int64_t in, int64_t out) {
    seq->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    seq->push_back(nn::BatchNorm2d(out));
    seq->push_back(nn::ReLU());
  };
  nn::Sequential backbone;
  block(backbone, 1, w / 4);
  backbone->push_back(nn::MaxPool2d(2));
  block(backbone, w / 4, w / 2);
  backbone->push_back(nn::MaxPool2d(2));
  block(backbone, w / 2, w);
  backbone->push_back(nn::MaxPool2d(2));
  block(backbone, w, w);
  block(backbone, w, w);
  backbone_ = register_module("backbone", backbone);
  head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(w, 5 + c.classes, 1)));
  {
    // Objectness starts at a prior of about 1 % (as RetinaNet), so the ~60
    // empty cells per image do not dominate the first epochs' loss.
    torch::NoGradGuard no_grad;
    head_->bias[0].fill_(-std::log(99.0));
  }
  torch::Tensor idx = torch::arange(cells(), torch::kFloat32);
  cell_x_ = register_buffer("cell_x", torch::fmod(idx, static_cast<double>(grid())));
  cell_y_ = register_buffer("cell_y", torch::floor(idx / static_cast<double>(grid())));
}

torch::Tensor DetectorImpl::Forward(const torch::Tensor& images) {
  const int64_t s = config_.image_size;
  if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != s || images.size(3) != s) {
    throw ModelError("detector expects images [B, 1, " + std::to_string(s) + ", " +
                     std::to_string(s) + "], got " + std::to_string(images.dim()) + " dims");
  }
  torch::Tensor h =
      head_(backbone_->forward(input_stage_ ? input_stage_(images) : images));  // [B, 5 + C, G, G]
  return h.flatten(2).transpose(1, 2);                  // [B, N, 5 + C]
}

DetectorCandidates DetectorImpl::Decode(const torch::Tensor& head) const {
  const double stride = static_cast<double>(kStride);
  DetectorCandidates out;
  out.objectness = torch::sigmoid(head.select(2, 0));
  out.class_probs = torch::softmax(head.slice(2, 5), 2);
  auto best = out.class_probs.max(2);
  out.scores = out.objectness * std::get<0>(best);
  out.labels = std::get<1>(best);
  torch::Tensor cx = (cell_x_ + torch::sigmoid(head.select(2, 1))) * stride;
  torch::Tensor cy = (cell_y_ + torch::sigmoid(head.select(2, 2))) * stride;
  torch::Tensor w = torch::exp(head.select(2, 3).clamp(-4, 2)) * config_.anchor;
  torch::Tensor h = torch::exp(head.select(2, 4).clamp(-4, 2)) * config_.anchor;
  out.boxes = torch::stack({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2}, 2);
  return out;
}

DetectorCandidates DetectorImpl::RawCandidates(const torch::Tensor& images) {
  return Decode(Forward(images));
}

torch::Tensor DetectorImpl::CandidateFeatures(const torch::Tensor& images) {
  return Forward(images);
}

}  // namespace effrobust
