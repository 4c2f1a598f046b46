#include "defenses/torch_transforms.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "defenses/defended_victim.h"
#include "models/multi_exit_victim.h"

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

TEST(TorchTransformsTest, BpdaHasTheTransformsValueAndPassesTheGradientThrough) {
  const MedianTransform median(3);
  const torch::Tensor x = Batch(2, 1, 9, 9).requires_grad_(true);
  const torch::Tensor y = BpdaTransform(median, x);
  EXPECT_TRUE(torch::allclose(y.detach(), ApplyTransform(median, x), 0, 1e-6));  // x + (T(x) - x)
  EXPECT_FALSE(torch::equal(y.detach(), x.detach()));  // the median does change this batch
  const torch::Tensor w = torch::linspace(-1, 1, x.numel()).reshape(x.sizes());
  (y * w).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::allclose(x.grad(), w));  // identity backward
  // Without BPDA the transform is a new leaf: no gradient reaches the input.
  EXPECT_FALSE(ApplyTransform(median, x).requires_grad());
}

TEST(TorchTransformsTest, DefendedVictimSeesTheTransformedInputAndHasInputGradients) {
  torch::manual_seed(5);
  MultiExitCnn cnn;
  cnn->eval();
  MultiExitVictim victim(cnn, {{"rad5", 0.9}});
  VictimModel& plain = victim;
  DefendedVictim defended_victim(plain, std::make_shared<BitDepthTransform>(2));
  VictimModel& defended = defended_victim;
  const torch::Tensor x = Batch(3, 1, 28, 28);
  const torch::Tensor squeezed = ApplyTransform(BitDepthTransform(2), x);
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(defended.Forward(x).logits, plain.Forward(squeezed).logits));
    EXPECT_FALSE(torch::allclose(defended.Forward(x).logits, plain.Forward(x).logits));
    EXPECT_EQ(defended.Measure(x, "rad5").cost.flops, plain.Measure(squeezed, "rad5").cost.flops);
  }
  const torch::Tensor xg = x.clone().requires_grad_(true);
  defended.Forward(xg).logits.sum().backward();
  ASSERT_TRUE(xg.grad().defined());
  EXPECT_GT(xg.grad().abs().sum().item<double>(), 0);
}

TEST(TorchTransformsTest, ExitCapForcesTheExitAndOnlyEarlyExitModelsHaveOne) {
  torch::manual_seed(5);
  MultiExitCnn cnn;
  cnn->eval();
  MultiExitVictim victim(cnn, {{"never", 1.1}});  // no classifier is ever confident enough
  torch::NoGradGuard no_grad;
  const torch::Tensor x = Batch(4, 1, 28, 28);
  for (double e : victim.Measure(x, "never").metric) EXPECT_EQ(e, 4);
  victim.SetExitCap(2);
  DynamicResult capped = victim.Measure(x, "never");
  for (double e : capped.metric) EXPECT_EQ(e, 1);
  EXPECT_NEAR(capped.cost.flops[0], cnn->ExitFlops()[1], 1e-6 * cnn->ExitFlops()[1]);
  EXPECT_EQ(cnn->ForwardEarlyExit(x.slice(0, 0, 1), 1.1, 2).first, 1);
  victim.SetExitCap(0);
  for (double e : victim.Measure(x, "never").metric) EXPECT_EQ(e, 4);
  EXPECT_THROW(victim.SetExitCap(-1), ModelError);
}

}  // namespace
}  // namespace effrobust
