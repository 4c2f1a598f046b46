// The D3 attacks' options from their completed catalog parameters: the
// catalog's defaults are the attacks' own.
#include "attacks/d3_params.h"

#include <gtest/gtest.h>

#include "attacks/catalog.h"
#include "common/error.h"

namespace effrobust {
namespace {

TEST(OverloadOptionsTest, ComeFromTheCompletedCatalogParameters) {
  const OverloadOptions d;
  const OverloadOptions o = OverloadOptionsFromParams(CompleteAttackParams("overload", {}));
  EXPECT_DOUBLE_EQ(o.eps, d.eps);
  EXPECT_EQ(o.iterations, d.iterations);
  EXPECT_EQ(o.grid, d.grid);
  EXPECT_DOUBLE_EQ(o.threshold, d.threshold);
  EXPECT_DOUBLE_EQ(
      OverloadOptionsFromParams(CompleteAttackParams("overload", {{"threshold", "0.5"}})).threshold,
      0.5);
  EXPECT_THROW(OverloadOptionsFromParams({}), AttackError);
}

TEST(PhantomSpongeSettingTest, ComesFromTheCompletedCatalogParameters) {
  const PhantomSpongeOptions d;
  const PhantomSpongeSetting s =
      PhantomSpongeSettingFromParams(CompleteAttackParams("phantom_sponge", {}));
  EXPECT_FALSE(s.universal);
  EXPECT_EQ(s.fit_sequences, 4);
  EXPECT_DOUBLE_EQ(s.options.threshold, d.threshold);
  EXPECT_DOUBLE_EQ(s.options.lambda1, d.lambda1);
  EXPECT_DOUBLE_EQ(s.options.lambda2, d.lambda2);
  EXPECT_DOUBLE_EQ(s.options.eps, d.eps);
  EXPECT_DOUBLE_EQ(s.options.step, d.step);
  EXPECT_EQ(s.options.iterations, d.iterations);
  EXPECT_EQ(s.options.epochs, d.epochs);
  EXPECT_EQ(s.options.batch, d.batch);
  EXPECT_TRUE(PhantomSpongeSettingFromParams(
                  CompleteAttackParams("phantom_sponge", {{"mode", "universal"}}))
                  .universal);
  EXPECT_THROW(PhantomSpongeSettingFromParams({}), AttackError);
}

TEST(SlowTrackOptionsTest, ComeFromTheCompletedCatalogParameters) {
  const SlowTrackOptions d;
  const SlowTrackOptions o = SlowTrackOptionsFromParams(CompleteAttackParams("slowtrack", {}));
  EXPECT_EQ(o.iterations, d.iterations);
  EXPECT_DOUBLE_EQ(o.step, d.step);
  EXPECT_EQ(o.slices, d.slices);
  EXPECT_DOUBLE_EQ(o.selected_weight, d.selected_weight);
  EXPECT_THROW(SlowTrackOptionsFromParams({}), AttackError);
}

TEST(D3CatalogTest, TheD3AttacksTargetDetectorsOnly) {
  for (const char* name : {"overload", "phantom_sponge", "slowtrack"}) {
    EXPECT_EQ(FindAttack(name).category, "D3") << name;
    EXPECT_TRUE(AttackTargetsFamily(name, "detection")) << name;
    EXPECT_FALSE(AttackTargetsFamily(name, "early_exit")) << name;
    EXPECT_FALSE(AttackTargetsFamily(name, "captioning")) << name;
  }
  EXPECT_TRUE(AttackTargetsFamily("clean", "detection"));
  EXPECT_FALSE(AttackTargetsFamily("pgd", "detection"));
  EXPECT_FALSE(AttackTargetsFamily("deepsloth", "detection"));
}

}  // namespace
}  // namespace effrobust
