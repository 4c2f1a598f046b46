#include "evaluation/paper_tables.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/value.h"
#include "evaluation/d2_summary.h"
#include "evaluation/d3_summary.h"
#include "evaluation/metric_pool.h"
#include "evaluation/table_cells.h"

namespace effrobust {
namespace {

using Metrics = std::map<std::string, double>;

// A defense listed in a unit's identity: name and parameters.
struct Listed {
  std::string name;
  ParamMap params;
};

// spec_json as the planner writes it: "defense.<i>", "defense.<i>.<k>" and
// "adaptive_defense" beside the unit's other identity fields.
std::string Spec(const std::vector<Listed>& defenses, const std::string& adaptive = "") {
  ParamMap spec = {{"model_hash", std::string("0123")}, {"seed", 1.0}};
  for (size_t i = 0; i < defenses.size(); ++i) {
    const std::string key = "defense." + std::to_string(i);
    spec[key] = defenses[i].name;
    for (const auto& [k, v] : defenses[i].params) spec[key + "." + k] = v;
  }
  if (!adaptive.empty()) spec["adaptive_defense"] = adaptive;
  return CanonicalJson(spec);
}

const Listed kBlockJpeg{"block_jpeg", {{"quality", 90.0}}};
const Listed kNlMeans{"nl_means", {{"h", 10.0}, {"search", 21.0}, {"template", 7.0}}};
const Listed kExitCap{"exit_cap", {{"k", 2.0}}};

UnitRecord Unit(const std::string& model, const std::string& attack, const std::string& params,
                double samples, Metrics metrics, const std::string& spec = "") {
  UnitRecord u;
  u.plan.model = model;
  u.plan.dataset = "fashion-mnist";
  u.plan.split = "test";
  u.plan.attack = attack;
  u.plan.params_json = params;
  u.plan.spec_json = spec;
  u.status = "done";
  metrics["samples"] = samples;
  u.metrics = std::move(metrics);
  return u;
}

// Adds `view` under "<defense>." (with its own samples) to `m`.
void AddView(const std::string& defense, Metrics view, double samples, Metrics* m) {
  view["samples"] = samples;
  for (const auto& [k, v] : view) (*m)[defense + "." + k] = v;
}

// Early-exit metrics: dynamic accuracy and efficacy at both RAD levels.
Metrics D1(double acc_clean, double acc_adv, double eff_clean, double eff_adv) {
  return {{"dyn_clean_acc_rad5", acc_clean},   {"dyn_adv_acc_rad5", acc_adv},
          {"dyn_clean_acc_rad15", acc_clean},  {"dyn_adv_acc_rad15", acc_adv},
          {"efficacy_clean_rad5", eff_clean},  {"efficacy_adv_rad5", eff_adv},
          {"efficacy_clean_rad15", eff_clean}, {"efficacy_adv_rad15", eff_adv}};
}

std::string Cell(const QueryResult& t, size_t row, const std::string& column) {
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c] == column) return t.rows.at(row).at(c);
  }
  return "no column " + column;
}

std::vector<std::string> Column(const QueryResult& t, const std::string& column) {
  std::vector<std::string> out;
  for (size_t r = 0; r < t.rows.size(); ++r) out.push_back(Cell(t, r, column));
  return out;
}

const std::string kLinf = R"({"eps":0.03137,"norm":"linf"})";

// One early-exit victim: a clean unit, DeepSloth L-inf measured undefended,
// through block JPEG, NL-means and the exit cap, and the adaptive unit that
// attacks through block JPEG.
std::vector<UnitRecord> D1Run() {
  const std::string spec = Spec({kBlockJpeg, kNlMeans, kExitCap});
  Metrics clean = D1(0.9, 0.9, 0.8, 0.8);
  AddView("block_jpeg", D1(0.85, 0.85, 0.75, 0.75), 10, &clean);
  AddView("nl_means", D1(0.7, 0.7, 0.6, 0.6), 10, &clean);
  Metrics attack = D1(0.9, 0.5, 0.8, 0.2);
  AddView("block_jpeg", D1(0.85, 0.8, 0.75, 0.7), 10, &attack);
  AddView("nl_means", D1(0.7, 0.65, 0.6, 0.55), 10, &attack);
  AddView("exit_cap", D1(0.88, 0.6, 0.9, 0.85), 10, &attack);
  Metrics adaptive = D1(0.9, 0.4, 0.8, 0.1);
  AddView("block_jpeg", D1(0.85, 0.3, 0.75, 0.25), 10, &adaptive);
  return {Unit("sdn", "clean", "{}", 10, clean, spec),
          Unit("sdn", "deepsloth", kLinf, 10, attack, spec),
          Unit("sdn", "deepsloth", kLinf, 10, adaptive, Spec({kBlockJpeg}, "block_jpeg"))};
}

TEST(PaperD1Table, RowsPerSettingWithDefendedCapAndAdaptiveRowsLabelled) {
  const PaperTable p = PaperD1Table(D1Run(), {});
  EXPECT_EQ(p.table.columns,
            (std::vector<std::string>{"victim", "training", "attack", "params", "norm", "setting",
                                      "samples", "acc_rad5", "acc_rad15", "efficacy_rad5",
                                      "efficacy_rad15"}));
  EXPECT_EQ(Column(p.table, "setting"),
            (std::vector<std::string>{"clean", "attack", "attack + JPEG", "attack + smoothing",
                                      "attack + exit cap (k=2)", "attack + JPEG (adaptive, BPDA)",
                                      "clean + JPEG", "clean + smoothing"}));
  EXPECT_EQ(Cell(p.table, 0, "norm"), "–");
  EXPECT_EQ(Cell(p.table, 0, "acc_rad5"), "0.9");  // the clean unit's clean side
  EXPECT_EQ(Cell(p.table, 1, "norm"), "linf");
  EXPECT_EQ(Cell(p.table, 1, "params"), "eps=0.03137");
  EXPECT_EQ(Cell(p.table, 1, "acc_rad5"), "0.5");
  EXPECT_EQ(Cell(p.table, 1, "efficacy_rad15"), "0.2");
  EXPECT_EQ(Cell(p.table, 2, "efficacy_rad5"), "0.7");   // block_jpeg view, adv side
  EXPECT_EQ(Cell(p.table, 3, "efficacy_rad5"), "0.55");  // nl_means view
  EXPECT_EQ(Cell(p.table, 4, "efficacy_rad5"), "0.85");  // exit cap view
  EXPECT_EQ(Cell(p.table, 5, "efficacy_rad5"), "0.25");  // adaptive unit, block_jpeg view
  EXPECT_EQ(Cell(p.table, 6, "efficacy_rad5"), "0.75");  // clean unit, block_jpeg, clean side
  EXPECT_EQ(Cell(p.table, 7, "acc_rad15"), "0.7");
  EXPECT_EQ(Cell(p.table, 1, "training"), "standard");
  EXPECT_EQ(p.notes,
            (std::vector<std::string>{"JPEG = block_jpeg (quality=90).",
                                      "smoothing = nl_means (h=10 search=21 template=7)."}));
}

TEST(PaperD1Table, PoolsShardsWeightedBySamples) {
  // Two shards of the same attack: 1 and 3 samples.
  const auto t = PaperD1Table({Unit("sdn", "deepsloth", kLinf, 1, D1(1, 0.2, 0.8, 0.4)),
                               Unit("sdn", "deepsloth", kLinf, 3, D1(0.6, 0.6, 0.4, 0.0))},
                              {})
                     .table;
  ASSERT_EQ(t.rows.size(), 2u);  // clean (from the attack's clean side), attack
  EXPECT_EQ(Cell(t, 0, "setting"), "clean");
  EXPECT_EQ(Cell(t, 0, "samples"), "4");
  EXPECT_EQ(Cell(t, 0, "acc_rad5"), "0.7");  // (1*1 + 3*0.6) / 4
  EXPECT_EQ(Cell(t, 1, "acc_rad5"), "0.5");  // (1*0.2 + 3*0.6) / 4
  EXPECT_EQ(Cell(t, 1, "efficacy_rad15"), "0.1");
}

TEST(PaperD1Table, AdversariallyTrainedVictimRowsSayAfterAt) {
  std::vector<ModelRecord> models(3);
  models[0].name = "sdn-at";
  models[0].metadata_json = R"({"arch":"multi_exit_cnn","adversarial":"pgd linf eps=0.03 steps=10",
                               "exit_flops":[1,2,3]})";
  models[1].name = "sdn";
  models[1].metadata_json = R"({"arch":"multi_exit_cnn","adversarial":""})";
  models[2].name = "broken";
  models[2].metadata_json = "{not json";
  const auto at = AdversarialTraining(models);
  EXPECT_EQ(at, (std::map<std::string, std::string>{{"sdn-at", "pgd linf eps=0.03 steps=10"}}));
  const auto t = PaperD1Table({Unit("sdn", "deepsloth", kLinf, 1, D1(1, 0.2, 0.8, 0.4)),
                               Unit("sdn-at", "deepsloth", kLinf, 1, D1(0.8, 0.7, 0.6, 0.5))},
                              at)
                     .table;
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(Cell(t, 1, "training"), "standard");
  EXPECT_EQ(Cell(t, 2, "victim"), "sdn-at");
  EXPECT_EQ(Cell(t, 2, "training"), "after AT (pgd linf eps=0.03 steps=10)");
  EXPECT_EQ(Cell(t, 3, "training"), "after AT (pgd linf eps=0.03 steps=10)");
  EXPECT_EQ(Cell(t, 3, "acc_rad5"), "0.7");
}

TEST(PaperD1Table, MissingMetricsAreDashesAndJpegFallsBackToWholeImage) {
  Metrics m = {{"efficacy_clean_rad5", 0.8}, {"efficacy_adv_rad5", 0.3}};  // no accuracy, no rad15
  AddView("jpeg", {{"efficacy_clean_rad5", 0.7}}, 5, &m);                  // adv side not measured
  AddView("median", {{"efficacy_adv_rad5", 0.6}}, 5, &m);
  const PaperTable p =
      PaperD1Table({Unit("sdn", "deepsloth", kLinf, 5, m,
                         Spec({{"jpeg", {{"quality", 75.0}}}, {"median", {{"k", 3.0}}}}))},
                   {});
  EXPECT_EQ(Column(p.table, "setting"),
            (std::vector<std::string>{"clean", "attack", "attack + JPEG", "attack + smoothing",
                                      "clean + JPEG", "clean + smoothing"}));
  EXPECT_EQ(Cell(p.table, 1, "acc_rad5"), "–");
  EXPECT_EQ(Cell(p.table, 1, "efficacy_rad15"), "–");
  EXPECT_EQ(Cell(p.table, 1, "efficacy_rad5"), "0.3");
  EXPECT_EQ(Cell(p.table, 2, "efficacy_rad5"), "–");
  EXPECT_EQ(Cell(p.table, 3, "efficacy_rad5"), "0.6");
  EXPECT_EQ(Cell(p.table, 4, "efficacy_rad5"), "0.7");
  EXPECT_EQ(p.notes,
            (std::vector<std::string>{"JPEG = jpeg (quality=75).", "smoothing = median (k=3)."}));
}

TEST(PaperD1Table, LeavesOutFamiliesWithoutEfficacyAndSaysWhenEmpty) {
  const PaperTable p = PaperD1Table(
      {Unit("skipnet", "ilfo", "{}", 4, {{"flops_ratio", 1.5}, {"clean_acc", 0.9}})}, {});
  EXPECT_TRUE(p.table.rows.empty());
  EXPECT_EQ(p.table.columns.size(), 11u);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("No unit of this run"), std::string::npos);
}

// BLEU statistics with `matched` matches of every order out of 10.
BleuStats Stats(double matched) {
  BleuStats s;
  s.matched.assign(4, matched);
  s.total.assign(4, 10);
  s.candidate_length = 10;
  s.reference_length = 10;
  return s;
}

double BleuOf(double matched) { return Stats(matched).Score(); }

// D2 metrics of a captioner unit.
Metrics D2(double mean_iloops, double max_iloops, double matched_clean, double matched_adv) {
  Metrics m = {{"mean_iloops", mean_iloops},
               {"max_iloops", max_iloops},
               {"mean_ilatency", mean_iloops / 2},
               {"max_ilatency", max_iloops / 2}};
  AddBleuMetrics("clean", Stats(matched_clean), &m);
  AddBleuMetrics("adv", Stats(matched_adv), &m);
  return m;
}

TEST(PaperD2Table, PoolsIloopsAndBleuOverShardsPerNormWithDefendedRows) {
  const std::string spec = Spec({kBlockJpeg, {"decode_cap", {{"steps", 20.0}}}});
  Metrics shard1 = D2(1.0, 3.0, 5, 2);
  AddView("block_jpeg", D2(0.1, 0.5, 4, 4), 2, &shard1);
  AddView("decode_cap", D2(0.2, 0.4, 5, 3), 2, &shard1);
  Metrics shard2 = D2(2.0, 5.0, 7, 1);
  AddView("block_jpeg", D2(0.3, 0.9, 6, 6), 6, &shard2);
  AddView("decode_cap", D2(0.2, 0.4, 5, 3), 6, &shard2);
  const PaperTable p = PaperD2Table(
      {Unit("captioner-lstm", "nicgslowdown", R"({"eps":0.01,"norm":"l2"})", 2, shard1, spec),
       Unit("captioner-lstm", "nicgslowdown", R"({"eps":0.01,"norm":"l2"})", 6, shard2, spec),
       Unit("captioner-lstm", "nicgslowdown", R"({"eps":0.03,"norm":"linf"})", 4,
            D2(0.5, 1.0, 5, 4))},
      {});
  const auto& t = p.table;
  EXPECT_EQ(Column(t, "setting"),
            (std::vector<std::string>{"clean", "attack", "attack + JPEG",
                                      "attack + decode cap (steps=20)", "attack", "clean + JPEG",
                                      "clean + decode cap (steps=20)"}));
  EXPECT_EQ(Cell(t, 0, "iloops_mean"), "–");  // clean row from the attack units' clean side
  EXPECT_EQ(Cell(t, 0, "samples"), "12");
  EXPECT_EQ(Cell(t, 1, "norm"), "l2");
  EXPECT_EQ(Cell(t, 1, "samples"), "8");
  EXPECT_EQ(Cell(t, 1, "iloops_mean"), "1.75");  // (2*1 + 6*2) / 8
  EXPECT_EQ(Cell(t, 1, "iloops_max"), "5");
  EXPECT_EQ(Cell(t, 1, "ilatency_mean"), "0.875");
  EXPECT_EQ(Cell(t, 1, "bleu4"), FormatCell(BleuOf((2 + 1) / 2.0)));  // summed statistics
  EXPECT_EQ(Cell(t, 2, "iloops_mean"), "0.25");                       // (2*0.1 + 6*0.3) / 8
  EXPECT_EQ(Cell(t, 2, "iloops_max"), "0.9");
  EXPECT_EQ(Cell(t, 4, "norm"), "linf");
  EXPECT_EQ(Cell(t, 4, "bleu4"), FormatCell(BleuOf(4)));
  EXPECT_EQ(Cell(t, 5, "bleu4"), FormatCell(BleuOf((4 + 6) / 2.0)));  // clean side of the view
  EXPECT_EQ(p.notes, (std::vector<std::string>{"JPEG = block_jpeg (quality=90)."}));
}

TEST(PaperD2Table, CleanUnitRowsKeepTheirMeasuredIloops) {
  const auto t = PaperD2Table({Unit("cap", "clean", "{}", 3, D2(0.0, 0.0, 5, 5))}, {}).table;
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(Cell(t, 0, "iloops_mean"), "0");
  EXPECT_EQ(Cell(t, 0, "bleu4"), FormatCell(BleuOf(5)));
}

MotaResult Counts(int64_t truth, int64_t errors) {
  MotaResult r;
  r.truth = truth;
  r.false_negatives = errors;
  return r;
}

// One D3 unit's measurements at `tag` (clean side, adversarial side).
void AddTag(const std::string& tag, double tracks_clean, double tracks_adv, int64_t errors_adv,
            Metrics* m) {
  const std::string p = tag + "_";
  (*m)[p + "frames"] = 20;
  (*m)[p + "tracks_clean"] = tracks_clean;
  (*m)[p + "tracks_adv"] = tracks_adv;
  (*m)[p + "tracker_ms_clean"] = tracks_clean / 10;
  (*m)[p + "tracker_ms_adv"] = tracks_adv / 10;
  (*m)[p + "total_ms_clean"] = 100;
  (*m)[p + "total_ms_adv"] = 100 + tracks_adv;
  (*m)[p + "ap50_gt_clean"] = 0.9;
  (*m)[p + "ap50_gt_adv"] = 0.2;
  AddMotaMetrics(p + "gt_clean", Counts(10, 0), m);
  AddMotaMetrics(p + "gt_adv", Counts(10, errors_adv), m);
}

Metrics D3(double tracks_clean, double tracks_adv, int64_t errors_adv) {
  Metrics m;
  AddTag("t25", tracks_clean, tracks_adv, errors_adv, &m);
  AddTag("t50", tracks_clean, tracks_adv, errors_adv, &m);
  return m;
}

TEST(PaperD3Table, ThresholdTimesBenignAttackAndDefendedRows) {
  const std::string spec = Spec({kBlockJpeg, kNlMeans});
  Metrics clean = D3(4, 4, 0);
  AddView("block_jpeg", D3(5, 5, 1), 2, &clean);
  AddView("nl_means", D3(3, 3, 2), 2, &clean);
  Metrics attack = D3(4, 400, 30);
  AddView("block_jpeg", D3(5, 6, 8), 2, &attack);
  AddView("nl_means", D3(3, 3, 9), 2, &attack);
  Metrics attack2 = D3(4, 200, 10);  // a second shard of the attack, 3 sequences
  AddView("block_jpeg", D3(5, 7, 8), 3, &attack2);
  AddView("nl_means", D3(3, 4, 9), 3, &attack2);
  Metrics at_t50 = D3(4, 800, 50);  // attacked at threshold 0.5: counts only at t50
  at_t50.erase("t50_ap50_gt_adv");
  const PaperTable p =
      PaperD3Table({Unit("detector", "clean", "{}", 2, clean, spec),
                    Unit("detector", "overload", "{}", 2, attack, spec),
                    Unit("detector", "overload", "{}", 3, attack2, spec),
                    Unit("detector", "slowtrack", R"({"threshold":0.5})", 2, at_t50, spec)},
                   {});
  const auto& t = p.table;
  const std::vector<std::string> t25 = {"benign",        "attack",
                                        "attack + JPEG", "attack + smoothing",
                                        "clean + JPEG",  "clean + smoothing"};
  std::vector<std::string> settings = t25;
  // slowtrack measured no defended view: its defended rows are left out.
  std::vector<std::string> t50 = {
      "benign", "attack",       "attack + JPEG",    "attack + smoothing",
      "attack", "clean + JPEG", "clean + smoothing"};
  settings.insert(settings.end(), t50.begin(), t50.end());
  EXPECT_EQ(Column(t, "setting"), settings);
  EXPECT_EQ(Cell(t, 0, "threshold"), "0.25");
  EXPECT_EQ(Cell(t, 0, "tracks"), "4");
  EXPECT_EQ(Cell(t, 0, "mota"), "1");
  EXPECT_EQ(Cell(t, 0, "map50"), "0.9");
  EXPECT_EQ(Cell(t, 1, "sequences"), "5");
  EXPECT_EQ(Cell(t, 1, "tracks"), "280");  // (2*400 + 3*200) / 5
  EXPECT_EQ(Cell(t, 1, "tracker_ms"), "28");
  EXPECT_EQ(Cell(t, 1, "total_ms"), "380");
  EXPECT_EQ(Cell(t, 1, "mota"), "-1");  // 1 - (30 + 10) / 20
  EXPECT_EQ(Cell(t, 1, "map50"), "0.2");
  EXPECT_EQ(Cell(t, 2, "tracks"), "6.6");  // (2*6 + 3*7) / 5
  EXPECT_EQ(Cell(t, 2, "mota"), "0.2");    // 1 - 16 / 20
  EXPECT_EQ(Cell(t, 4, "tracks"), "5");    // clean + JPEG: the clean unit's clean side
  EXPECT_EQ(Cell(t, 5, "tracks"), "3");
  EXPECT_EQ(Cell(t, 6, "threshold"), "0.5");
  EXPECT_EQ(Cell(t, 10, "attack"), "slowtrack");
  EXPECT_EQ(Cell(t, 10, "params"), "threshold=0.5");
  EXPECT_EQ(Cell(t, 10, "tracks"), "800");
  EXPECT_EQ(Cell(t, 10, "map50"), "–");  // not measured
  EXPECT_EQ(Cell(t, 11, "setting"), "clean + JPEG");
  EXPECT_EQ(p.notes,
            (std::vector<std::string>{"JPEG = block_jpeg (quality=90).",
                                      "smoothing = nl_means (h=10 search=21 template=7)."}));
}

// The input detector's metrics of one unit.
Metrics Detector(double clean, double adv, double test_sources, bool smoothed = true) {
  Metrics m = {{"samples", 100}};
  Metrics v = {{"auc_plain", 0.9},
               {"ms_per_input", 2.0},
               {"test_sources", test_sources},
               {"train_sources", 4 * test_sources}};
  std::vector<std::string> sets = {"plain", "jpeg"};
  if (smoothed) sets.push_back("smoothed");
  for (const std::string& set : sets) {
    v["clean_rate_" + set] = clean;
    v["detection_rate_" + set] = adv;
    v["mean_rate_" + set] = (clean + adv) / 2;
  }
  for (const auto& [k, x] : v) m["input_detector." + k] = x;
  return m;
}

TEST(PaperTable4, RowsPerAttackVictimAndNormOrThresholdPooledByTestSources) {
  const std::string spec = Spec({{"input_detector", {{"features", std::string("resnet")}}}});
  const PaperTable p = PaperTable4(
      {Unit("sdn", "deepsloth", kLinf, 100, Detector(0.8, 0.6, 20), spec),
       Unit("sdn", "deepsloth", kLinf, 100, Detector(0.4, 1.0, 60), spec),
       Unit("detector", "slowtrack", R"({"threshold":0.25})", 10, Detector(1, 1, 10, false), spec),
       Unit("cap", "nmtsloth", "{}", 10, Detector(0.5, 0.5, 10), spec),
       Unit("sdn", "deepsloth", kLinf, 100, D1(1, 0, 1, 0))});  // no detector: no row
  const auto& t = p.table;
  EXPECT_EQ(t.columns,
            (std::vector<std::string>{"attack", "victim", "norm_or_threshold", "params",
                                      "test_sources", "clean_plain", "adv_plain", "mean_plain",
                                      "clean_jpeg", "adv_jpeg", "mean_jpeg", "clean_smoothed",
                                      "adv_smoothed", "mean_smoothed", "auc", "latency_ms"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(Cell(t, 0, "norm_or_threshold"), "linf");
  EXPECT_EQ(Cell(t, 0, "params"), "eps=0.03137");
  EXPECT_EQ(Cell(t, 0, "test_sources"), "80");
  EXPECT_EQ(Cell(t, 0, "clean_plain"), "0.5");  // (20*0.8 + 60*0.4) / 80
  EXPECT_EQ(Cell(t, 0, "adv_jpeg"), "0.9");     // (20*0.6 + 60*1) / 80
  EXPECT_EQ(Cell(t, 0, "mean_smoothed"), "0.7");
  EXPECT_EQ(Cell(t, 0, "auc"), "0.9");
  EXPECT_EQ(Cell(t, 0, "latency_ms"), "2");
  EXPECT_EQ(Cell(t, 1, "norm_or_threshold"), "0.25");
  EXPECT_EQ(Cell(t, 1, "params"), "–");
  EXPECT_EQ(Cell(t, 1, "adv_smoothed"), "–");
  EXPECT_EQ(Cell(t, 2, "norm_or_threshold"), "–");
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("input_detector features=resnet"), std::string::npos) << p.notes[0];
}

TEST(RenderPaperTables, HeadingsTablesAndNotesInEveryFormat) {
  std::vector<UnitRecord> units = D1Run();
  const std::vector<PaperTable> tables = PaperTables(units, {});
  ASSERT_EQ(tables.size(), 4u);
  const std::string md = RenderPaperTables(tables, TableFormat::kMarkdown);
  EXPECT_EQ(md.rfind("### Table 4", 0), 0u) << md;
  EXPECT_NE(md.find("\n### D1"), std::string::npos);
  EXPECT_NE(md.find("| attack + JPEG (adaptive, BPDA) |"), std::string::npos) << md;
  EXPECT_NE(md.find("\nJPEG = block_jpeg (quality=90).\n"), std::string::npos) << md;
  EXPECT_NE(md.find("No unit of this run has D3 metrics"), std::string::npos);

  const std::string csv = RenderPaperTables(tables, TableFormat::kCsv);
  EXPECT_EQ(csv.rfind("# Table 4", 0), 0u) << csv;
  EXPECT_NE(csv.find("\n# D1"), std::string::npos);
  EXPECT_NE(csv.find("victim,training,attack,params,norm,setting,samples,acc_rad5"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("sdn,standard,deepsloth,eps=0.03137,linf,attack + JPEG,10,"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\n# JPEG = block_jpeg (quality=90).\n"), std::string::npos);

  const std::string tex = RenderPaperTables(tables, TableFormat::kLatex);
  EXPECT_EQ(tex.rfind("% Table 4", 0), 0u) << tex;
  EXPECT_NE(tex.find("\\begin{tabular}"), std::string::npos);
  EXPECT_NE(tex.find("acc\\_rad5"), std::string::npos);
  EXPECT_NE(tex.find("\n% smoothing = nl_means (h=10 search=21 template=7).\n"), std::string::npos)
      << tex;
}

}  // namespace
}  // namespace effrobust

namespace effrobust {
namespace {

TEST(MetricPool, MaxIsUndefinedWhenAShardLacksTheMetric) {
  MetricPool pool;
  pool.Add({{"samples", 2}, {"max_iloops", 3}, {"mean_iloops", 1}});
  pool.Add({{"samples", 2}, {"mean_iloops", 2}});
  EXPECT_TRUE(std::isnan(pool.Max("max_iloops")));
  EXPECT_DOUBLE_EQ(pool.Mean("mean_iloops"), 1.5);
  EXPECT_TRUE(std::isnan(pool.Mean("absent")));
  EXPECT_TRUE(std::isnan(pool.Bleu("adv")));
  EXPECT_TRUE(std::isnan(pool.Mota("t25_gt_adv")));
}

}  // namespace
}  // namespace effrobust
