#include "orchestrator/scheduler.h"

#include <gtest/gtest.h>

namespace effrobust {
namespace {

std::vector<SchedulableUnit> Units() {
  return {{"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"b2", "B"}};
}

TEST(SchedulerTest, PrefersUnitsOfTheModelTheWorkerHolds) {
  Scheduler s(Units());
  auto first = s.Assign(1, "B");
  ASSERT_TRUE(first);
  EXPECT_EQ(s.unit(*first).model, "B");
}

TEST(SchedulerTest, NewWorkerPrefersAModelNobodyElseHolds) {
  Scheduler s(Units());
  auto w1 = s.Assign(1, "");
  ASSERT_TRUE(w1);
  auto w2 = s.Assign(2, "");
  ASSERT_TRUE(w2);
  EXPECT_NE(s.unit(*w1).model, s.unit(*w2).model);
}

TEST(SchedulerTest, EachUnitIsLeasedOnceAndFinishes) {
  Scheduler s(Units());
  std::vector<std::string> seen;
  while (auto i = s.Assign(1, "")) {
    seen.push_back(s.unit(*i).id);
    EXPECT_TRUE(s.Complete(1, s.unit(*i).id));
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_TRUE(s.Finished());
  EXPECT_EQ(s.done(), 4u);
}

TEST(SchedulerTest, DuplicateOrForeignReportIsNotCounted) {
  Scheduler s(Units());
  auto i = s.Assign(1, "");
  const std::string id = s.unit(*i).id;
  EXPECT_FALSE(s.Complete(2, id));  // not leased to worker 2
  EXPECT_TRUE(s.Complete(1, id));
  EXPECT_FALSE(s.Complete(1, id));  // duplicate
  EXPECT_EQ(s.done(), 1u);
}

TEST(SchedulerTest, ReleasedWorkersUnitGoesBackToPending) {
  Scheduler s(Units());
  auto i = s.Assign(1, "");
  s.ReleaseWorker(1);
  EXPECT_EQ(s.pending(), 4u);
  EXPECT_EQ(s.state(*i), Scheduler::State::kPending);
}

TEST(SchedulerTest, FailedUnitIsSettledNotRetried) {
  Scheduler s(std::vector<SchedulableUnit>{{"x", "A"}});
  auto i = s.Assign(1, "");
  EXPECT_TRUE(s.Fail(1, s.unit(*i).id));
  EXPECT_FALSE(s.Assign(1, ""));
  EXPECT_TRUE(s.Finished());
  EXPECT_EQ(s.failed(), 1u);
}

}  // namespace
}  // namespace effrobust
