#include "orchestrator/plan.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/error.h"

namespace effrobust {
namespace {

ExperimentSpec Spec(const std::string& eps_list) {
  return ParseSpec(
      "name: t\nseed: 3\nmodels: [{name: m, path: m.pt}]\n"
      "datasets: [{name: fashion-mnist, range: [0, 100], shard_size: 40}]\n"
      "attacks:\n  - name: clean\n  - name: deepsloth\n    params: {eps: " + eps_list + "}\n",
      "t.yaml");
}

TEST(PlanTest, ExpandsModelsShardsAttacksAndGrid) {
  auto units = ExpandUnits(Spec("[0.01, 0.02]"), {{"m", "abc"}});
  // 3 shards ([0,40) [40,80) [80,100)) x (clean + 2 deepsloth settings).
  ASSERT_EQ(units.size(), 9u);
  EXPECT_EQ(units[0].begin, 0);
  EXPECT_EQ(units[0].end, 40);
  EXPECT_EQ(units.back().begin, 80);
  EXPECT_EQ(units.back().end, 100);
  std::set<std::string> ids;
  for (const auto& u : units) ids.insert(u.id);
  EXPECT_EQ(ids.size(), units.size());
}

TEST(PlanTest, IdsAreStableAcrossExpansions) {
  auto a = ExpandUnits(Spec("[0.01, 0.02]"), {{"m", "abc"}});
  auto b = ExpandUnits(Spec("[0.01, 0.02]"), {{"m", "abc"}});
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);
  EXPECT_EQ(a[0].id.size(), 16u);
}

TEST(PlanTest, ExtendedGridKeepsOldIdsAndAddsOnlyNewOnes) {
  auto small = ExpandUnits(Spec("[0.01]"), {{"m", "abc"}});
  auto big = ExpandUnits(Spec("[0.01, 0.02]"), {{"m", "abc"}});
  std::set<std::string> old_ids;
  for (const auto& u : small) old_ids.insert(u.id);
  size_t shared = 0;
  for (const auto& u : big) shared += old_ids.count(u.id);
  EXPECT_EQ(shared, small.size());
  EXPECT_EQ(big.size() - shared, 3u);  // one new setting x 3 shards
}

TEST(PlanTest, SameValueWrittenDifferentlyGivesSameId) {
  auto a = ExpandUnits(Spec("[8/255]"), {{"m", "abc"}});
  auto b = ExpandUnits(Spec("[0.031372549019607843]"), {{"m", "abc"}});
  EXPECT_EQ(a.back().id, b.back().id);
}

TEST(PlanTest, RetrainedModelChangesIds) {
  auto a = ExpandUnits(Spec("[0.01]"), {{"m", "abc"}});
  auto b = ExpandUnits(Spec("[0.01]"), {{"m", "abd"}});
  EXPECT_NE(a[0].id, b[0].id);
}

TEST(PlanTest, UnitSurvivesMessageRoundTrip) {
  auto u = ExpandUnits(Spec("[0.01]"), {{"m", "abc"}}).back();
  WorkUnit v = UnitFromMap(ParseFlatJson(CanonicalJson(UnitToMap(u))));
  EXPECT_EQ(v.id, u.id);
  EXPECT_EQ(v.canonical, u.canonical);
  EXPECT_EQ(v.begin, u.begin);
  EXPECT_EQ(CanonicalJson(v.params), CanonicalJson(u.params));
}

TEST(PlanTest, CaptionJsonFileTravelsWithTheUnitAndMaxFramesIsPartOfItsIdentity) {
  auto units = [](const std::string& dataset) {
    return ExpandUnits(ParseSpec("name: t\nseed: 3\nmodels: [{name: m, path: m.pt}]\n"
                                 "datasets: [" + dataset + "]\nattacks:\n  - name: clean\n",
                                 "t.yaml"),
                       {{"m", "abc"}});
  };
  const auto a = units("{name: captions-json, path: /img, json: /a/d.json, range: [0, 4]}");
  const auto b = units("{name: captions-json, path: /moved, json: /b/d.json, range: [0, 4]}");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].id, b[0].id);  // moving the files does not redo the unit
  EXPECT_EQ(a[0].data_json, "/a/d.json");
  EXPECT_EQ(a[0].data_path, "/img");
  WorkUnit v = UnitFromMap(ParseFlatJson(CanonicalJson(UnitToMap(a[0]))));
  EXPECT_EQ(v.data_json, "/a/d.json");
  EXPECT_EQ(v.id, a[0].id);

  const auto all = units("{name: mot17, path: /m, range: [0, 2]}");
  const auto cut = units("{name: mot17, path: /m, range: [0, 2], max_frames: 10}");
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(all[0].max_frames, 0);
  EXPECT_EQ(cut[0].max_frames, 10);
  EXPECT_NE(all[0].id, cut[0].id);  // fewer frames measure something else
  EXPECT_EQ(all[0].canonical.find("max_frames"), std::string::npos) << all[0].canonical;
  v = UnitFromMap(ParseFlatJson(CanonicalJson(UnitToMap(cut[0]))));
  EXPECT_EQ(v.max_frames, 10);
  EXPECT_EQ(v.split, "train");
  EXPECT_EQ(v.id, cut[0].id);
}

TEST(PlanTest, Cifar10PathTravelsWithTheUnitButIsNotPartOfItsIdentity) {
  auto spec_at = [](const std::string& dir) {
    return ParseSpec("name: t\nseed: 3\nmodels: [{name: m, path: m.pt}]\n"
                     "datasets: [{name: cifar10, path: " + dir +
                         ", range: [0, 100], shard_size: 40}]\n"
                         "attacks:\n  - name: clean\n",
                     "t.yaml");
  };
  auto a = ExpandUnits(spec_at("/data/c10"), {{"m", "abc"}});
  auto b = ExpandUnits(spec_at("/moved/c10"), {{"m", "abc"}});
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);  // moving the data does not redo the units
    EXPECT_EQ(a[i].dataset, "cifar10");
    EXPECT_EQ(a[i].data_path, "/data/c10");
    EXPECT_EQ(b[i].data_path, "/moved/c10");
    EXPECT_EQ(a[i].canonical.find("c10"), std::string::npos) << a[i].canonical;
    WorkUnit v = UnitFromMap(ParseFlatJson(CanonicalJson(UnitToMap(a[i]))));
    EXPECT_EQ(v.data_path, "/data/c10");
    EXPECT_EQ(v.id, a[i].id);
  }
  // Datasets without a path send none.
  auto u = ExpandUnits(Spec("[0.01]"), {{"m", "abc"}}).back();
  EXPECT_EQ(UnitToMap(u).count("data_path"), 0u);
  EXPECT_EQ(UnitFromMap(UnitToMap(u)).data_path, "");
}

TEST(PlanTest, NoneAloneKeepsUnitIdsAndADefenseJoinsEveryUnitsIdentity) {
  const std::string text =
      "name: t\nseed: 3\nmodels: [{name: m, path: m.pt}]\n"
      "datasets: [{name: fashion-mnist, range: [0, 100], shard_size: 40}]\n"
      "attacks:\n  - name: clean\n  - name: deepsloth\n    params: {eps: [0.01]}\n";
  auto plain = ExpandUnits(ParseSpec(text, "t.yaml"), {{"m", "abc"}});
  auto none = ExpandUnits(ParseSpec(text + "defenses: [none]\n", "t.yaml"), {{"m", "abc"}});
  ASSERT_EQ(plain.size(), none.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i].id, none[i].id);
    EXPECT_TRUE(none[i].defenses.empty());
  }
  auto jpeg = ExpandUnits(
      ParseSpec(text + "defenses: [none, {name: jpeg, params: {quality: 75}}, median]\n", "t.yaml"),
      {{"m", "abc"}});
  ASSERT_EQ(plain.size(), jpeg.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_NE(plain[i].id, jpeg[i].id);
    ASSERT_EQ(jpeg[i].defenses.size(), 2u);
    EXPECT_EQ(jpeg[i].defenses[0].name, "jpeg");
    EXPECT_EQ(NumberField(jpeg[i].defenses[0].params, "quality"), 75);
    EXPECT_EQ(jpeg[i].defenses[1].name, "median");
    EXPECT_EQ(NumberField(jpeg[i].defenses[1].params, "k"), 3);  // the default, filled in
    EXPECT_TRUE(jpeg[i].adaptive_defense.empty());
  }
  auto q90 = ExpandUnits(
      ParseSpec(text + "defenses: [{name: jpeg, params: {quality: 90}}, median]\n", "t.yaml"),
      {{"m", "abc"}});
  EXPECT_NE(q90[0].id, jpeg[0].id);  // the parameters are part of the identity
}

TEST(PlanTest, AdaptiveDefenseAddsOneUnitPerAttackUnitButNotForClean) {
  const std::string text =
      "name: t\nseed: 3\nmodels: [{name: m, path: m.pt}]\n"
      "datasets: [{name: fashion-mnist, range: [0, 100], shard_size: 50}]\n"
      "attacks:\n  - name: clean\n  - name: deepsloth\n    params: {eps: [0.01, 0.03]}\n"
      "defenses: [none, {name: median, adaptive: true}, {name: jpeg}]\n";
  auto units = ExpandUnits(ParseSpec(text, "t.yaml"), {{"m", "abc"}});
  // 2 shards x (clean + 2 deepsloth + 2 adaptive-median deepsloth).
  ASSERT_EQ(units.size(), 10u);
  int adaptive = 0;
  std::set<std::string> ids;
  for (size_t i = 0; i < units.size(); ++i) {
    ids.insert(units[i].id);
    if (units[i].adaptive_defense.empty()) {
      EXPECT_EQ(units[i].defenses.size(), 2u);
      continue;
    }
    ++adaptive;
    EXPECT_EQ(units[i].attack, "deepsloth");
    EXPECT_EQ(units[i].adaptive_defense, "median");
    ASSERT_EQ(units[i].defenses.size(), 1u);
    EXPECT_EQ(units[i].defenses[0].name, "median");
    // Right after the unit it adapts, with the same attack parameters.
    EXPECT_EQ(CanonicalJson(units[i].params), CanonicalJson(units[i - 1].params));
    EXPECT_TRUE(units[i - 1].adaptive_defense.empty());
  }
  EXPECT_EQ(adaptive, 4);
  EXPECT_EQ(ids.size(), units.size());
}

TEST(PlanTest, DefensesFollowTheModelFamilyAndOneFittingNoModelIsRefused) {
  const std::string text =
      "name: t\nmodels: [{name: sdn, path: a.pt}, {name: tr, path: b.pt}]\n"
      "datasets: [{name: fashion-mnist, range: [0, 10]}]\n"
      "attacks: [{name: clean}]\n";
  const std::map<std::string, std::string> families = {{"sdn", "early_exit"},
                                                       {"tr", "translation"}};
  auto units = ExpandUnits(ParseSpec(text + "defenses: [jpeg, exit_cap, decode_cap]\n", "t.yaml"),
                           {{"sdn", "a"}, {"tr", "b"}}, families);
  ASSERT_EQ(units.size(), 2u);
  std::vector<std::string> sdn, tr;
  for (const auto& d : units[0].defenses) sdn.push_back(d.name);
  for (const auto& d : units[1].defenses) tr.push_back(d.name);
  EXPECT_EQ(sdn, (std::vector<std::string>{"jpeg", "exit_cap"}));
  EXPECT_EQ(tr, (std::vector<std::string>{"decode_cap"}));
  try {
    ExpandUnits(ParseSpec(text + "defenses: [none, nms_cap]\n", "t.yaml"),
                {{"sdn", "a"}, {"tr", "b"}}, families);
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("t.yaml:5: defense 'nms_cap' applies to detection models, "
                                          "and no model of the experiment is one (models: sdn "
                                          "(early_exit), tr (translation))"),
              std::string::npos)
        << e.what();
  }
}

TEST(PlanTest, UnitWithDefensesSurvivesMessageRoundTrip) {
  const std::string text =
      "name: t\nmodels: [{name: m, path: m.pt}]\n"
      "datasets: [{name: fashion-mnist, range: [0, 10]}]\n"
      "attacks: [{name: deepsloth}]\n"
      "defenses: [{name: nl_means, params: {h: 12}, adaptive: true}, bit_depth]\n";
  for (const WorkUnit& u : ExpandUnits(ParseSpec(text, "t.yaml"), {{"m", "abc"}})) {
    WorkUnit v = UnitFromMap(ParseFlatJson(CanonicalJson(UnitToMap(u))));
    EXPECT_EQ(v.id, u.id);
    EXPECT_EQ(v.canonical, u.canonical);
    EXPECT_TRUE(v.defenses == u.defenses) << u.canonical;
    EXPECT_EQ(v.adaptive_defense, u.adaptive_defense);
  }
}

TEST(PlanTest, GridLargerThanTheUnitLimitIsRefusedBeforeExpanding) {
  ExperimentSpec spec = ParseSpec(
      "name: t\nmodels: [{name: m, path: m.pt}]\n"
      "datasets: [{name: fashion-mnist, split: train, shard_size: 1}]\n"
      "attacks:\n  - name: clean\n  - name: pgd\n    params: {iterations: [1, 2]}\n",
      "t.yaml");
  try {
    ExpandUnits(spec, {{"m", "abc"}});
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "t.yaml: the experiment expands to 180000 units (1 model(s) x 60000 dataset "
                  "shard(s) x 3 attack setting(s)) (allowed: at most 100000)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace effrobust

namespace effrobust {
namespace {

ExperimentSpec TwoFamilies(const std::string& attacks) {
  return ParseSpec(
      "name: t\nseed: 3\nmodels: [{name: sdn, path: a.pt}, {name: skip, path: b.pt}]\n"
      "datasets: [{name: fashion-mnist, range: [0, 100], shard_size: 50}]\n"
      "attacks:\n" + attacks,
      "t.yaml");
}

TEST(PlanTest, LeavesOutAttacksThatDoNotTargetTheModelsFamily) {
  auto units = ExpandUnits(TwoFamilies("  - name: clean\n  - name: deepsloth\n  - name: sponge\n"),
                           {}, {{"sdn", "early_exit"}, {"skip", "skip_gate"}});
  std::multiset<std::string> pairs;
  for (const auto& u : units) pairs.insert(u.model + "/" + u.attack);
  // 2 shards each: deepsloth only on the early-exit model.
  EXPECT_EQ(pairs.count("sdn/deepsloth"), 2u);
  EXPECT_EQ(pairs.count("skip/deepsloth"), 0u);
  EXPECT_EQ(pairs.count("skip/sponge"), 2u);
  EXPECT_EQ(pairs.count("skip/clean"), 2u);
  EXPECT_EQ(units.size(), 10u);
}

TEST(PlanTest, AttackFittingNoModelIsAnErrorNamingFamilies) {
  try {
    ExpandUnits(TwoFamilies("  - name: clean\n  - name: deepsloth\n"), {},
                {{"sdn", "adaptive_token"}, {"skip", "skip_gate"}});
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("t.yaml:7: attack 'deepsloth' targets early_exit models"), std::string::npos)
        << what;
    EXPECT_NE(what.find("skip (skip_gate)"), std::string::npos) << what;
  }
}

// A D2 experiment: two captioners and a translator, each on its own
// dataset, with clean, the captioning attack and the translation attack.
ExperimentSpec D2Spec() {
  return ParseSpec(
      "name: t\nseed: 3\nmodels: [{name: lstm, path: a.pt}, {name: gru, path: b.pt},\n"
      "  {name: sdn, path: c.pt}]\n"
      "datasets: [{name: fashion-mnist-scenes, range: [0, 100], shard_size: 50},\n"
      "  {name: fashion-mnist, range: [0, 30], shard_size: 30}]\n"
      "attacks:\n  - name: clean\n  - {name: nicgslowdown, params: {norm: [l2, linf]}}\n"
      "  - name: pgd\n  - name: sponge\n",
      "t.yaml");
}

TEST(PlanTest, EachModelRunsOnlyOnTheDatasetItWasTrainedOn) {
  auto units = ExpandUnits(D2Spec(), {},
                           {{"lstm", "captioning"}, {"gru", "captioning"}, {"sdn", "early_exit"}},
                           {{"lstm", "fashion-mnist-scenes"},
                            {"gru", "fashion-mnist-scenes"},
                            {"sdn", "fashion-mnist"}});
  std::multiset<std::string> pairs;
  for (const auto& u : units) pairs.insert(u.model + "/" + u.dataset + "/" + u.attack);
  // Captioners: 2 scene shards x (clean + nicgslowdown l2, linf); never
  // pgd or sponge (classifier attacks) and never Fashion-MNIST images.
  EXPECT_EQ(pairs.count("lstm/fashion-mnist-scenes/clean"), 2u);
  EXPECT_EQ(pairs.count("gru/fashion-mnist-scenes/nicgslowdown"), 4u);
  EXPECT_EQ(pairs.count("lstm/fashion-mnist-scenes/pgd"), 0u);
  EXPECT_EQ(pairs.count("lstm/fashion-mnist-scenes/sponge"), 0u);
  EXPECT_EQ(pairs.count("lstm/fashion-mnist/clean"), 0u);
  // The classifier: 1 shard x (clean, pgd, sponge), never scenes or NICGSlowDown.
  EXPECT_EQ(pairs.count("sdn/fashion-mnist/clean"), 1u);
  EXPECT_EQ(pairs.count("sdn/fashion-mnist/pgd"), 1u);
  EXPECT_EQ(pairs.count("sdn/fashion-mnist-scenes/clean"), 0u);
  EXPECT_EQ(pairs.count("sdn/fashion-mnist/nicgslowdown"), 0u);
  EXPECT_EQ(units.size(), 2u * 2 * 3 + 3);
}

}  // namespace
}  // namespace effrobust
