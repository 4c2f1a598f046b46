// Applies an input transform (defenses/transforms.h) to a batch of images
// held in a torch tensor, for the executors. Uses torch. Thread-safe as the
// transform is.
#ifndef EFFROBUST_DEFENSES_TORCH_TRANSFORMS_H_
#define EFFROBUST_DEFENSES_TORCH_TRANSFORMS_H_

#include <torch/torch.h>

#include "defenses/transforms.h"

namespace effrobust {

// `images` is [B, C, H, W] with C = 1 or 3 and values in [0, 1], of a
// floating dtype on any device. Returns the transformed batch with the same
// shape, dtype and device; each image goes through `transform` on the CPU
// as float32. No gradient flows through the result (it is a new leaf).
// Throws DefenseError naming the shape or dtype if `images` is not such a
// batch, and whatever `transform` throws for an image (see Transform::Apply).
torch::Tensor ApplyTransform(const Transform& transform, const torch::Tensor& images);

// BPDA (Athalye et al. 2018) with the identity as the backward pass: the
// value is ApplyTransform(transform, images), the gradient with respect to
// `images` is passed through unchanged, so gradient attacks can optimise
// through a non-differentiable transform. Same checks as ApplyTransform.
torch::Tensor BpdaTransform(const Transform& transform, const torch::Tensor& images);

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_TORCH_TRANSFORMS_H_
