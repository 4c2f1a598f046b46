// Cost meters: the energy model, the per-sample cost ledger and the early-
// exit model's measured path, against hand-computed values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "common/error.h"
#include "evaluation/energy_model.h"
#include "models/cost_ledger.h"
#include "models/families.h"
#include "models/multi_exit_victim.h"
#include "models/victim_loader.h"

namespace effrobust {
namespace {

TEST(EnergyModel, MatchesTheSpongePaperFormulaOnHandCountedLayer) {
  LayerCounts c;
  c.macs = 100;
  c.params = 10;
  c.nonzero_params = 5;
  c.in_total = 20;
  c.in_nonzero = 10;
  c.out_total = 8;
  c.out_nonzero = 4;
  // 1950 * (5 + 10 + 4) + 3.7 * 100 * (5/10) * (10/20)
  EXPECT_DOUBLE_EQ(EnergyOptimisedPj(c), 37050.0 + 92.5);
  // 1950 * (10 + 20 + 8) + 3.7 * 100
  EXPECT_DOUBLE_EQ(EnergyWorstPj(c), 74100.0 + 370.0);
}

TEST(EnergyModel, DenseLayerCostsTheSameWithOrWithoutZeroSkipping) {
  LayerCounts c;
  c.macs = 7;
  c.params = c.nonzero_params = 3;
  c.in_total = c.in_nonzero = 4;
  c.out_total = c.out_nonzero = 2;
  EXPECT_DOUBLE_EQ(EnergyOptimisedPj(c), EnergyWorstPj(c));
}

TEST(CostLedger, CountsNonzerosPerSampleAndScalesByShare) {
  CostLedger ledger(2);
  LayerUse use;
  use.input = torch::tensor({{1.f, 0.f, 0.f, 2.f}, {0.f, 0.f, 0.f, 0.f}});
  use.output = torch::tensor({{1.f, 1.f, 0.f}, {0.f, 0.f, 5.f}});
  use.params = {torch::tensor({{1.f, 0.f, 1.f, 0.f}, {1.f, 0.f, 1.f, 0.f}, {1.f, 0.f, 1.f, 0.f}})};
  use.flops = 27;
  use.macs = 12;
  use.share = torch::tensor({1.0, 0.5});
  ledger.Add(use);
  SampleCosts t = ledger.Totals();
  // Sample 0 runs the whole layer: 6 of 12 weights, 2 of 4 inputs, 2 of 3
  // outputs non-zero.
  EXPECT_DOUBLE_EQ(t.flops[0], 27);
  EXPECT_DOUBLE_EQ(t.energy_pj[0], 1950.0 * (6 + 2 + 2) + 3.7 * 12 * 0.5 * 0.5);
  EXPECT_DOUBLE_EQ(t.energy_worst_pj[0], 1950.0 * (12 + 4 + 3) + 3.7 * 12);
  // Sample 1 runs half of it: FLOPs, MACs and activation totals halve; all
  // of its inputs are zero, so no MAC energy.
  EXPECT_DOUBLE_EQ(t.flops[1], 13.5);
  EXPECT_DOUBLE_EQ(t.energy_pj[1], 1950.0 * (6 + 0 + 1));
  EXPECT_DOUBLE_EQ(t.energy_worst_pj[1], 1950.0 * (12 + 2 + 1.5) + 3.7 * 6);
  EXPECT_DOUBLE_EQ(t.act_nonzero[1], 1);
  EXPECT_DOUBLE_EQ(t.act_total[1], 1.5);
}

TEST(CostLedger, NonzerosNeverExceedTheElementsCharged) {
  CostLedger ledger(1);
  LayerUse use;
  use.input = torch::ones({1, 4});   // 4 non-zeros, but only half the layer ran
  use.output = torch::ones({1, 2});
  use.share = torch::full({1}, 0.5);
  ledger.Add(use);
  SampleCosts t = ledger.Totals();
  EXPECT_DOUBLE_EQ(t.act_total[0], 1);
  EXPECT_DOUBLE_EQ(t.act_nonzero[0], 1);
  EXPECT_DOUBLE_EQ(t.energy_pj[0], 1950.0 * (2 + 1));
}

TEST(CostLedger, SkippedLayerCostsNothing) {
  CostLedger ledger(1);
  LayerUse use;
  use.input = torch::ones({1, 4});
  use.output = torch::ones({1, 2});
  use.params = {torch::ones({2, 4})};
  use.flops = 18;
  use.macs = 8;
  use.share = torch::zeros({1});
  ledger.Add(use);
  SampleCosts t = ledger.Totals();
  EXPECT_EQ(t.flops[0], 0);
  EXPECT_EQ(t.energy_pj[0], 0);
  EXPECT_EQ(t.energy_worst_pj[0], 0);
}

// A 2-exit CNN on 4x4 inputs with blocks of 2 and 3 channels. Hand count:
// block 0: conv 1->2 at 4x4: 32 outputs * 2*9*1 = 576, BN 64, ReLU 32;
//   head 0: mixed 2x2 pooling of 2 windows of 2 per axis: max + avg
//   2 * (4*4*2) = 64, mixing 3 * 8 = 24, linear 8 -> 2: 2*8*2 + 2 = 34
//   -> 794.
// block 1: conv 2->3: 48 * 2*9*2 = 1728, BN 96, ReLU 48; head 1: pooling
//   2 * 48 + 3 * 12 = 132, linear 12 -> 2: 50 -> 2054, cumulative 2848.
MultiExitConfig Tiny() {
  MultiExitConfig c;
  c.in_channels = 1;
  c.image_size = 4;
  c.num_classes = 2;
  c.channels = {2, 3};
  return c;
}

TEST(EarlyExitMeter, LedgerFlopsEqualHandCountedExitFlops) {
  torch::manual_seed(3);
  MultiExitCnn model(Tiny());
  model->eval();
  EXPECT_EQ(model->ExitFlops(), (std::vector<double>{794, 2848}));
  torch::NoGradGuard no_grad;
  CostLedger ledger(3);
  model->ForwardAll(torch::rand({3, 1, 4, 4}), &ledger, nullptr);
  SampleCosts stop_first = ledger.Totals({0, 0, 0});
  SampleCosts run_all = ledger.Totals({1, 1, 1});
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(stop_first.flops[i], 794);
    EXPECT_DOUBLE_EQ(run_all.flops[i], 2848);
  }
  // MACs: convolutions 32*9 + 48*18, linears 8*2 + 12*2.
  EXPECT_DOUBLE_EQ(run_all.macs[0], 32 * 9 + 48 * 18 + 16 + 24);
  // Worst-case energy to exit 0, layer by layer (params / inputs / outputs):
  // conv 18/16/32, BN 4/32/32, ReLU 0/32/32, mixed pool 1/32/8 (its alpha),
  // flatten 0/8/8, linear 18/8/2: 41 parameters, 128 inputs, 114 outputs,
  // 288 + 16 MACs.
  EXPECT_NEAR(stop_first.energy_worst_pj[0], 1950.0 * (41 + 128 + 114) + 3.7 * 304, 1e-6);
}

TEST(EarlyExitMeter, MeasureChargesOnlyTheExitTakenAndDensityMovesEnergy) {
  torch::manual_seed(5);
  MultiExitCnn model(Tiny());
  model->eval();
  // q = 0 exits at the first classifier, q > 1 never exits early.
  MultiExitVictim early(model, {{"first", 0.0}, {"never", 1.5}});
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::rand({2, 1, 4, 4});
  DynamicResult first = early.Measure(x, "first");
  DynamicResult never = early.Measure(x, "never");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(first.metric[i], 0);
    EXPECT_EQ(never.metric[i], 1);
    EXPECT_DOUBLE_EQ(first.cost.flops[i], 794);
    EXPECT_DOUBLE_EQ(never.cost.flops[i], early.full_flops());
    EXPECT_LT(first.cost.energy_pj[i], never.cost.energy_pj[i]);
    EXPECT_LE(never.cost.energy_pj[i], never.cost.energy_worst_pj[i]);
  }
  // An all-zero image has fewer non-zero activations than a random one on
  // the same path: same FLOPs, less energy.
  DynamicResult zero = early.Measure(torch::zeros({1, 1, 4, 4}), "never");
  EXPECT_DOUBLE_EQ(zero.cost.flops[0], never.cost.flops[0]);
  EXPECT_LT(zero.cost.act_nonzero[0], never.cost.act_nonzero[0]);
  EXPECT_LT(zero.cost.energy_pj[0], never.cost.energy_pj[0]);
  EXPECT_THROW(early.Measure(x, "rad5"), ModelError);
}

// The orchestrator checks experiments with the torch-free family table; the
// victim loader must know exactly its classifier archs, in the same
// families, and none of its decoder archs (those have their own loaders,
// see captioner_test).
TEST(ArchFamilies, LoaderAndTorchFreeTableAgree) {
  std::vector<std::string> classifiers, decoders, detectors;
  for (const auto& [arch, family] : ArchFamilies()) {
    if (family == kFamilyDetection) {
      detectors.push_back(arch);
      EXPECT_EQ(FamilyOfArch(arch), "") << arch;
      continue;
    }
    if (IsDecoderFamily(family)) {
      decoders.push_back(arch);
      EXPECT_EQ(FamilyOfArch(arch), "") << arch;
      continue;
    }
    classifiers.push_back(arch);
    EXPECT_EQ(FamilyOfArch(arch), family) << arch;
  }
  std::sort(classifiers.begin(), classifiers.end());
  EXPECT_EQ(KnownArchs(), classifiers);
  std::sort(decoders.begin(), decoders.end());
  EXPECT_EQ(decoders, (std::vector<std::string>{"captioner", "translator"}));
  EXPECT_EQ(detectors, (std::vector<std::string>{"detector"}));
}

}  // namespace
}  // namespace effrobust
