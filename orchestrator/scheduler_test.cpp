#include "orchestrator/scheduler.h"

#include <gtest/gtest.h>

namespace effrobust {
namespace {

std::vector<SchedulableUnit> Units() {
  return {{"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"b2", "B"}};
}

TEST(SchedulerTest, PrefersUnitsOfTheModelTheWorkerHolds) {
  Scheduler s(Units());
  auto first = s.Assign(1, "B", 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(s.unit(first->unit).model, "B");
}

TEST(SchedulerTest, NewWorkerPrefersAModelNobodyElseHolds) {
  Scheduler s(Units());
  auto w1 = s.Assign(1, "", 0);
  ASSERT_TRUE(w1);
  auto w2 = s.Assign(2, "", 0);
  ASSERT_TRUE(w2);
  EXPECT_NE(s.unit(w1->unit).model, s.unit(w2->unit).model);
}

TEST(SchedulerTest, EachUnitIsLeasedOnceAndFinishes) {
  Scheduler s(Units());
  std::vector<std::string> seen;
  while (auto l = s.Assign(1, "", 0)) {
    seen.push_back(s.unit(l->unit).id);
    EXPECT_TRUE(s.Complete(1, s.unit(l->unit).id, l->token));
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_TRUE(s.Finished());
  EXPECT_EQ(s.done(), 4u);
}

TEST(SchedulerTest, DuplicateForeignOrWrongTokenReportIsNotCounted) {
  Scheduler s(Units());
  auto l = s.Assign(1, "", 0);
  const std::string id = s.unit(l->unit).id;
  EXPECT_FALSE(s.Complete(2, id, l->token));      // not leased to worker 2
  EXPECT_FALSE(s.Complete(1, id, l->token + 1));  // another lease's token
  EXPECT_TRUE(s.Complete(1, id, l->token));
  EXPECT_FALSE(s.Complete(1, id, l->token));  // duplicate
  EXPECT_EQ(s.done(), 1u);
}

TEST(SchedulerTest, ReleasedWorkersUnitGoesBackToPending) {
  Scheduler s(Units());
  auto l = s.Assign(1, "", 0);
  s.ReleaseWorker(1);
  EXPECT_EQ(s.pending(), 4u);
  EXPECT_EQ(s.state(l->unit), Scheduler::State::kPending);
}

TEST(SchedulerTest, FailedUnitIsRetriedUpToTheBudgetThenFails) {
  Scheduler s(std::vector<SchedulableUnit>{{"x", "A"}}, SchedulerPolicy{2, 600});
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto l = s.Assign(1, "", 0);
    ASSERT_TRUE(l);
    EXPECT_EQ(s.Fail(1, "x", l->token), Scheduler::FailOutcome::kRetry);
  }
  auto l = s.Assign(1, "", 0);
  ASSERT_TRUE(l);
  EXPECT_EQ(s.Fail(1, "x", l->token), Scheduler::FailOutcome::kFailed);
  EXPECT_FALSE(s.Assign(1, "", 0));
  EXPECT_TRUE(s.Finished());
  EXPECT_EQ(s.failed(), 1u);
  EXPECT_EQ(s.failures(0), 3);
}

TEST(SchedulerTest, ZeroRetriesFailsAtOnce) {
  Scheduler s(std::vector<SchedulableUnit>{{"x", "A"}}, SchedulerPolicy{0, 600});
  auto l = s.Assign(1, "", 0);
  EXPECT_EQ(s.Fail(1, "x", l->token), Scheduler::FailOutcome::kFailed);
  EXPECT_TRUE(s.Finished());
}

TEST(SchedulerTest, RetryPrefersAnotherWorker) {
  Scheduler s(std::vector<SchedulableUnit>{{"x", "A"}, {"y", "A"}});
  auto l1 = s.Assign(1, "", 0);
  ASSERT_EQ(s.unit(l1->unit).id, "x");
  ASSERT_EQ(s.Fail(1, "x", l1->token), Scheduler::FailOutcome::kRetry);
  // Worker 1 asks again: it gets y, not the x that failed on it.
  auto again = s.Assign(1, "A", 0);
  EXPECT_EQ(s.unit(again->unit).id, "y");
  // Worker 2 takes the retry of x.
  auto l2 = s.Assign(2, "", 0);
  EXPECT_EQ(s.unit(l2->unit).id, "x");
  // With no other choice, a unit does go back to the worker it failed on.
  ASSERT_EQ(s.Fail(2, "x", l2->token), Scheduler::FailOutcome::kRetry);
  EXPECT_TRUE(s.Complete(1, "y", again->token));
  auto last = s.Assign(1, "", 0);
  ASSERT_TRUE(last);
  EXPECT_EQ(s.unit(last->unit).id, "x");
}

TEST(SchedulerTest, InterruptionsDoNotUseTheRetryBudget) {
  Scheduler s(std::vector<SchedulableUnit>{{"x", "A"}}, SchedulerPolicy{0, 600});
  for (int i = 0; i < 5; ++i) {
    auto l = s.Assign(1, "", 0);
    ASSERT_TRUE(l);
    EXPECT_TRUE(s.Interrupt(1, "x", l->token));
  }
  EXPECT_EQ(s.failures(0), 0);
  auto l = s.Assign(1, "", 0);
  EXPECT_TRUE(s.Complete(1, "x", l->token));
}

TEST(SchedulerTest, SilentWorkerLosesItsLeaseAndItsLateResultIsDropped) {
  Scheduler s(std::vector<SchedulableUnit>{{"x", "A"}}, SchedulerPolicy{2, 10});
  auto old_lease = s.Assign(1, "", 0);
  s.Heartbeat(1, 8);
  EXPECT_TRUE(s.ExpireLeases(15).empty());  // heard from 7 s ago
  EXPECT_EQ(s.ExpireLeases(19).size(), 1u);  // silent for 11 s
  EXPECT_TRUE(s.IsLost(1));
  EXPECT_EQ(s.failures(0), 0);
  auto new_lease = s.Assign(2, "", 19);
  ASSERT_TRUE(new_lease);
  EXPECT_NE(new_lease->token, old_lease->token);
  // Worker 1 wakes up and reports: dropped. Worker 2's report counts.
  EXPECT_FALSE(s.Complete(1, "x", old_lease->token));
  EXPECT_EQ(s.Fail(1, "x", old_lease->token), Scheduler::FailOutcome::kStale);
  EXPECT_TRUE(s.Complete(2, "x", new_lease->token));
  EXPECT_EQ(s.done(), 1u);
}

TEST(SchedulerTest, DrainStopsAssignmentsButLeasesFinish) {
  Scheduler s(Units());
  auto l = s.Assign(1, "", 0);
  s.Drain();
  EXPECT_FALSE(s.Assign(2, "", 0));
  EXPECT_TRUE(s.Complete(1, s.unit(l->unit).id, l->token));
  EXPECT_EQ(s.pending(), 3u);
  EXPECT_FALSE(s.Finished());
}

}  // namespace
}  // namespace effrobust
