// Minimum-cost assignment with a cost limit on hand-made matrices.
#include "evaluation/linear_assignment.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace effrobust {
namespace {

using Pairs = std::vector<std::pair<int64_t, int64_t>>;

TEST(AssignWithLimitTest, FindsTheMinimumCostPairing) {
  // Greedy would take (0, 0) at 1 and then pay 8 for (1, 1); the optimum is 2 + 3.
  Assignment a = AssignWithLimit({{1, 2}, {3, 8}}, 2, 100);
  EXPECT_EQ(a.pairs, (Pairs{{0, 1}, {1, 0}}));
  EXPECT_TRUE(a.unpaired_rows.empty());
  EXPECT_TRUE(a.unpaired_columns.empty());
}

TEST(AssignWithLimitTest, PairsCostingTheLimitOrMoreStayUnpaired) {
  // 0.9 is above the 0.8 limit: row 1 and column 1 stay unpaired.
  Assignment a = AssignWithLimit({{0.1, 0.95}, {0.85, 0.9}}, 2, 0.8);
  EXPECT_EQ(a.pairs, (Pairs{{0, 0}}));
  EXPECT_EQ(a.unpaired_rows, (std::vector<int64_t>{1}));
  EXPECT_EQ(a.unpaired_columns, (std::vector<int64_t>{1}));
}

TEST(AssignWithLimitTest, PrefersTwoCheapPairsToOneCheaperPairAndTwoUnpaired) {
  // (0, 0) at 0.0 blocks everything else: two unpaired ends cost the limit 0.8 in total,
  // so 0.0 + 0.8 loses to (0, 1) + (1, 0) = 0.3 + 0.3.
  Assignment a = AssignWithLimit({{0.0, 0.3}, {0.3, 0.9}}, 2, 0.8);
  EXPECT_EQ(a.pairs, (Pairs{{0, 1}, {1, 0}}));
}

TEST(AssignWithLimitTest, RectangularAndEmptyMatrices) {
  Assignment wide = AssignWithLimit({{0.5, 0.1, 0.7}}, 3, 1.0);
  EXPECT_EQ(wide.pairs, (Pairs{{0, 1}}));
  EXPECT_EQ(wide.unpaired_columns, (std::vector<int64_t>{0, 2}));
  Assignment tall = AssignWithLimit({{0.2}, {0.1}, {0.3}}, 1, 1.0);
  EXPECT_EQ(tall.pairs, (Pairs{{1, 0}}));
  EXPECT_EQ(tall.unpaired_rows, (std::vector<int64_t>{0, 2}));
  Assignment none = AssignWithLimit({{}, {}}, 0, 1.0);
  EXPECT_EQ(none.unpaired_rows, (std::vector<int64_t>{0, 1}));
  Assignment no_rows = AssignWithLimit({}, 3, 1.0);
  EXPECT_TRUE(no_rows.pairs.empty());
  EXPECT_EQ(no_rows.unpaired_columns, (std::vector<int64_t>{0, 1, 2}));
}

TEST(AssignWithLimitTest, BadInputThrows) {
  EXPECT_THROW(AssignWithLimit({{0.1, 0.2}, {0.3}}, 2, 1.0), std::invalid_argument);
  EXPECT_THROW(AssignWithLimit({{0.1}}, 1, 0.0), std::invalid_argument);
  EXPECT_THROW(AssignWithLimit({{0.1}}, -1, 1.0), std::invalid_argument);
  EXPECT_THROW(AssignWithLimit({{1.0 / 0.0}}, 1, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace effrobust
