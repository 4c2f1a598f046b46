#include "defenses/torch_transforms.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace effrobust {
namespace {

// A batch on the 8-bit grid (values k/255), fixed by the seed.
torch::Tensor Batch(int64_t b, int64_t c, int64_t h, int64_t w) {
  torch::manual_seed(3);
  return torch::randint(0, 256, {b, c, h, w}, torch::kFloat32) / 255.0;
}

Image ImageAt(const torch::Tensor& batch, int64_t b) {
  const torch::Tensor one = batch[b].to(torch::kFloat32).contiguous();
  return Image{one.size(0), one.size(1), one.size(2),
               std::vector<float>(one.data_ptr<float>(), one.data_ptr<float>() + one.numel())};
}

TEST(TorchTransformsTest, KeepsShapeAndMatchesTheTorchFreeTransformPerImage) {
  const MedianTransform median(3);
  for (int64_t channels : {1, 3}) {
    const torch::Tensor in = Batch(3, channels, 9, 11);
    const torch::Tensor out = ApplyTransform(median, in);
    ASSERT_EQ(out.sizes(), in.sizes());
    for (int64_t b = 0; b < 3; ++b) {
      EXPECT_EQ(ImageAt(out, b).values, median.Apply(ImageAt(in, b)).values) << "image " << b;
    }
    EXPECT_FALSE(torch::equal(out, in));
  }
}

TEST(TorchTransformsTest, KeepsTheDtypeAndGivesNoGradient) {
  const torch::Tensor in = Batch(2, 1, 8, 8).to(torch::kFloat64).requires_grad_();
  const torch::Tensor out = ApplyTransform(JpegTransform(50), in);
  EXPECT_EQ(out.scalar_type(), torch::kFloat64);
  EXPECT_EQ(out.device(), in.device());
  EXPECT_FALSE(out.requires_grad());
  EXPECT_EQ(ImageAt(out, 1).values, JpegTransform(50).Apply(ImageAt(in.detach(), 1)).values);
}

TEST(TorchTransformsTest, RefusesTensorsThatAreNotImageBatches) {
  const BitDepthTransform bits(2);
  for (const torch::Tensor& bad : {torch::zeros({1, 8, 8}), torch::zeros({1, 2, 8, 8}),
                                   torch::zeros({1, 1, 8, 8}, torch::kInt64)}) {
    try {
      ApplyTransform(bits, bad);
      ADD_FAILURE() << "expected DefenseError for " << bad.sizes();
    } catch (const DefenseError& e) {
      EXPECT_NE(std::string(e.what()).find("[defenses] bit_depth: cannot transform a tensor"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace effrobust
