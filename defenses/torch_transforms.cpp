#include "defenses/torch_transforms.h"

#include <algorithm>
#include <sstream>

#include "common/error.h"

namespace effrobust {

torch::Tensor ApplyTransform(const Transform& transform, const torch::Tensor& images) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3) ||
      !c10::isFloatingType(images.scalar_type())) {
    std::ostringstream shape;
    shape << images.sizes() << " " << images.scalar_type();
    throw DefenseError(transform.Name() + ": cannot transform a tensor " + shape.str() +
                       " (allowed: floating [B, C, H, W] with C = 1 or 3)");
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor in = images.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  torch::Tensor out = torch::empty_like(in);
  const int64_t per_image = in.size(1) * in.size(2) * in.size(3);
  for (int64_t b = 0; b < in.size(0); ++b) {
    const float* src = in.data_ptr<float>() + b * per_image;
    Image image{in.size(1), in.size(2), in.size(3), std::vector<float>(src, src + per_image)};
    const Image done = transform.Apply(image);
    if (done.values.size() != static_cast<size_t>(per_image)) {
      throw DefenseError(transform.Name() + ": returned " + std::to_string(done.values.size()) +
                         " values for an image of " + std::to_string(per_image));
    }
    std::copy(done.values.begin(), done.values.end(), out.data_ptr<float>() + b * per_image);
  }
  return out.to(images.device(), images.scalar_type());
}

torch::Tensor BpdaTransform(const Transform& transform, const torch::Tensor& images) {
  const torch::Tensor done = ApplyTransform(transform, images);
  return images + (done - images).detach();
}

}  // namespace effrobust
