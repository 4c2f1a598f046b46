// The D2 attacks' options from their completed catalog parameters.
#include "attacks/d2_params.h"

#include <gtest/gtest.h>

#include "attacks/catalog.h"
#include "common/error.h"

namespace effrobust {
namespace {

TEST(NicgSlowDownOptionsTest, ComeFromTheCompletedCatalogParameters) {
  NicgSlowDownOptions o =
      NicgSlowDownOptionsFromParams(CompleteAttackParams("nicgslowdown", {{"norm", "linf"}}));
  EXPECT_EQ(o.norm, "linf");
  EXPECT_DOUBLE_EQ(o.budget, 0.03);
  EXPECT_DOUBLE_EQ(o.c, 100);
  EXPECT_DOUBLE_EQ(o.lr, 0.05);
  EXPECT_EQ(o.iterations, 100);
  EXPECT_EQ(o.max_len, 60);
  // The defaults of the catalog are the attack's own.
  const NicgSlowDownOptions d;
  const NicgSlowDownOptions l2 =
      NicgSlowDownOptionsFromParams(CompleteAttackParams("nicgslowdown", {}));
  EXPECT_EQ(l2.norm, d.norm);
  EXPECT_DOUBLE_EQ(l2.budget, d.budget);
  EXPECT_DOUBLE_EQ(l2.c, d.c);
  EXPECT_DOUBLE_EQ(l2.lr, d.lr);
  EXPECT_EQ(l2.iterations, d.iterations);
  EXPECT_EQ(l2.max_len, d.max_len);
  EXPECT_THROW(NicgSlowDownOptionsFromParams({}), AttackError);
}

TEST(NmtSlothOptionsTest, ComeFromTheCompletedCatalogParameters) {
  NmtSlothOptions o = NmtSlothOptionsFromParams(CompleteAttackParams("nmtsloth", {{"edits", "2"}}));
  EXPECT_EQ(o.edits, 2);
  const NmtSlothOptions d;
  EXPECT_EQ(o.candidates, d.candidates);
  EXPECT_EQ(o.max_len, d.max_len);
  EXPECT_EQ(NmtSlothOptionsFromParams(CompleteAttackParams("nmtsloth", {})).edits, d.edits);
  EXPECT_THROW(NmtSlothOptionsFromParams({}), AttackError);
}

}  // namespace
}  // namespace effrobust
