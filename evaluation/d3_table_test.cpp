#include "evaluation/d3_table.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "evaluation/d3_summary.h"

namespace effrobust {
namespace {

UnitRecord Unit(const std::string& attack, const std::string& params, double samples,
                std::map<std::string, double> metrics) {
  UnitRecord u;
  u.plan.model = "grid-detector";
  u.plan.dataset = "moving-items";
  u.plan.split = "test";
  u.plan.attack = attack;
  u.plan.params_json = params;
  u.status = "done";
  metrics["samples"] = samples;
  metrics["sequences"] = samples;
  u.metrics = std::move(metrics);
  return u;
}

MotaResult Counts(int64_t truth, int64_t fn, int64_t fp, int64_t idsw) {
  MotaResult r;
  r.truth = truth;
  r.false_negatives = fn;
  r.false_positives = fp;
  r.id_switches = idsw;
  r.matches = truth - fn;
  r.mota = 1.0 - static_cast<double>(fn + fp + idsw) / static_cast<double>(truth);
  r.motp = 0.7;
  return r;
}

// What one unit measured at a threshold (the summary's metrics, abridged).
struct Measured {
  double tracks_clean = 2, tracks_adv = 2, total_clean = 10, total_adv = 10;
  double ap50_clean = 0.9, ap50_adv = 0.9;
  MotaResult gt_clean = Counts(10, 0, 0, 0), gt_adv = Counts(10, 0, 0, 0);
  MotaResult pseudo = Counts(10, 0, 0, 0);
};

void AddTag(const std::string& tag, const Measured& x, std::map<std::string, double>* m) {
  const std::string p = tag + "_";
  (*m)[p + "frames"] = 30;
  (*m)[p + "tracks_clean"] = x.tracks_clean;
  (*m)[p + "tracks_adv"] = x.tracks_adv;
  (*m)[p + "tracks_max_clean"] = 2 * x.tracks_clean;
  (*m)[p + "tracks_max_adv"] = 2 * x.tracks_adv;
  (*m)[p + "tracks_started_clean"] = x.tracks_clean + 1;
  (*m)[p + "tracks_started_adv"] = x.tracks_adv + 1;
  (*m)[p + "tracker_ms_clean"] = x.total_clean / 10;
  (*m)[p + "tracker_ms_adv"] = x.total_adv / 10;
  (*m)[p + "total_ms_clean"] = x.total_clean;
  (*m)[p + "total_ms_adv"] = x.total_adv;
  (*m)[p + "ap50_gt_clean"] = x.ap50_clean;
  (*m)[p + "ap50_gt_adv"] = x.ap50_adv;
  (*m)[p + "ap75_gt_clean"] = x.ap50_clean / 2;
  (*m)[p + "ap75_gt_adv"] = x.ap50_adv / 2;
  (*m)[p + "ap50_pseudo_adv"] = x.ap50_adv / 3;
  AddMotaMetrics(p + "gt_clean", x.gt_clean, m);
  AddMotaMetrics(p + "gt_adv", x.gt_adv, m);
  AddMotaMetrics(p + "pseudo_adv", x.pseudo, m);
}

std::map<std::string, double> D3Metrics(const Measured& t25, const Measured& t50) {
  std::map<std::string, double> m;
  AddTag("t25", t25, &m);
  AddTag("t50", t50, &m);
  return m;
}

std::string Cell(const QueryResult& t, size_t row, const std::string& column) {
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c] == column) return t.rows.at(row).at(c);
  }
  return "no column " + column;
}

// Two clean units, SlowTrack attacked at 0.25 and Overload without a
// threshold, interleaved; a D2 unit and a failed unit that must not count.
std::vector<UnitRecord> MixedRun() {
  Measured a, b, slowtrack, overload;
  a.tracks_clean = 1, a.total_clean = 10, a.ap50_clean = 0.9, a.gt_clean = Counts(30, 0, 0, 0);
  b.tracks_clean = 3, b.total_clean = 20, b.ap50_clean = 0.5, b.gt_clean = Counts(10, 2, 2, 1);
  slowtrack.tracks_adv = 12, slowtrack.total_adv = 40, slowtrack.gt_adv = Counts(20, 4, 10, 2);
  slowtrack.pseudo = Counts(20, 5, 5, 0);
  overload.tracks_adv = 8, overload.total_adv = 30;
  Measured overload50 = overload;
  overload50.tracks_adv = 4;
  std::vector<UnitRecord> units = {
      Unit("slowtrack", R"({"eps":0.03,"threshold":0.25})", 4, D3Metrics(slowtrack, slowtrack)),
      Unit("clean", "{}", 2, D3Metrics(a, a)),
      Unit("overload", R"({"eps":0.03})", 4, D3Metrics(overload, overload50)),
      Unit("clean", "{}", 6, D3Metrics(b, b)),
      Unit("nicgslowdown", "{}", 10, {{"mean_iloops", 1}}),
  };
  units.push_back(units[2]);
  units.back().status = "failed";
  return units;
}

TEST(D3Table, RowsPerThresholdBenignFirstThenAttacksInArrivalOrder) {
  const QueryResult t = D3Table(MixedRun());
  ASSERT_EQ(t.rows.size(), 5u);
  const std::vector<std::pair<std::string, std::string>> want = {{"0.25", "benign"},
                                                                 {"0.25", "slowtrack"},
                                                                 {"0.25", "overload"},
                                                                 {"0.5", "benign"},
                                                                 {"0.5", "overload"}};
  for (size_t r = 0; r < want.size(); ++r) {
    EXPECT_EQ(Cell(t, r, "threshold"), want[r].first) << r;
    EXPECT_EQ(Cell(t, r, "setting"), want[r].second) << r;
    EXPECT_EQ(Cell(t, r, "model"), "grid-detector");
    EXPECT_EQ(Cell(t, r, "dataset"), "moving-items/test");
  }
  EXPECT_EQ(Cell(t, 0, "params"), "-");
  EXPECT_EQ(Cell(t, 1, "params"), "eps=0.03 threshold=0.25");
  EXPECT_EQ(Cell(t, 2, "params"), "eps=0.03");
}

TEST(D3Table, BenignRowPoolsCleanUnitsSampleWeighted) {
  const QueryResult t = D3Table(MixedRun());
  EXPECT_EQ(Cell(t, 0, "sequences"), "8");
  EXPECT_EQ(Cell(t, 0, "tracks"), "2.5");  // (2 * 1 + 6 * 3) / 8
  EXPECT_EQ(Cell(t, 0, "tracks_max"), "6");
  EXPECT_EQ(Cell(t, 0, "tracks_started"), "3.5");
  EXPECT_EQ(Cell(t, 0, "tracker_ms"), "1.75");
  EXPECT_EQ(Cell(t, 0, "total_ms"), "17.5");  // (2 * 10 + 6 * 20) / 8
  EXPECT_EQ(Cell(t, 0, "ap50"), "0.6");       // (2 * 0.9 + 6 * 0.5) / 8
  EXPECT_EQ(Cell(t, 0, "ap75"), "0.3");
  for (const std::string column : {"mota_pseudo", "ap50_pseudo", "tracks_x", "total_x"}) {
    EXPECT_EQ(Cell(t, 0, column), "-") << column;
  }
}

TEST(D3Table, MotaIsPooledFromCountsNotAveraged) {
  const QueryResult t = D3Table(MixedRun());
  // Units score 1 (30 objects, no errors) and 0.5 (10 objects, 5 errors):
  // pooled 1 - 5 / 40, not the sample-weighted mean 0.625.
  EXPECT_EQ(Cell(t, 0, "mota"), "0.875");
  EXPECT_EQ(Cell(t, 1, "mota"), "0.2");         // 1 - 16 / 20
  EXPECT_EQ(Cell(t, 1, "mota_pseudo"), "0.5");  // 1 - 10 / 20
  EXPECT_EQ(Cell(t, 2, "mota"), "1");
}

TEST(D3Table, AttackRowsUseAdversarialValuesAndRatiosOfPooledMeans) {
  const QueryResult t = D3Table(MixedRun());
  EXPECT_EQ(Cell(t, 1, "sequences"), "4");
  EXPECT_EQ(Cell(t, 1, "tracks"), "12");
  EXPECT_EQ(Cell(t, 1, "tracks_max"), "24");
  EXPECT_EQ(Cell(t, 1, "total_ms"), "40");
  EXPECT_EQ(Cell(t, 1, "tracks_x"), "6");  // 12 / 2
  EXPECT_EQ(Cell(t, 1, "total_x"), "4");   // 40 / 10
  EXPECT_EQ(Cell(t, 1, "ap50_pseudo"), "0.3");
  EXPECT_EQ(Cell(t, 2, "tracks_x"), "4");  // 8 / 2
  EXPECT_EQ(Cell(t, 4, "tracks"), "4");    // overload at 0.5
  EXPECT_EQ(Cell(t, 4, "tracks_x"), "2");
}

TEST(D3Table, AttackAtAThresholdCountsOnlyThere) {
  std::vector<UnitRecord> units = MixedRun();
  units[0].plan.params_json = R"({"eps":0.03,"threshold":0.5})";
  const QueryResult t = D3Table(units);
  ASSERT_EQ(t.rows.size(), 5u);
  EXPECT_EQ(Cell(t, 1, "setting"), "overload");  // 0.25: no slowtrack row
  EXPECT_EQ(Cell(t, 2, "setting"), "benign");
  EXPECT_EQ(Cell(t, 3, "setting"), "slowtrack");
  EXPECT_EQ(Cell(t, 3, "threshold"), "0.5");
  EXPECT_EQ(Cell(t, 3, "params"), "eps=0.03 threshold=0.5");
  EXPECT_EQ(Cell(t, 4, "setting"), "overload");
}

TEST(D3Table, MotaUndefinedUnlessEveryUnitHasItsCounts) {
  std::vector<UnitRecord> units = MixedRun();
  units[3].metrics.erase("t25_gt_clean_fn");
  const QueryResult t = D3Table(units);
  EXPECT_EQ(Cell(t, 0, "mota"), "-");
  EXPECT_EQ(Cell(t, 3, "mota"), "0.875");  // 0.5 still complete
}

TEST(D3Table, RunWithoutD3UnitsHasNoRows) {
  std::vector<UnitRecord> units = MixedRun();
  units.erase(units.begin(), units.begin() + 4);
  EXPECT_TRUE(D3Table(units).rows.empty());
  EXPECT_EQ(D3Table(units).columns.size(), 18u);
}

}  // namespace
}  // namespace effrobust
