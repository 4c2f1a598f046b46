#include "attacks/catalog.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace effrobust {
namespace {

TEST(CatalogTest, DeepSlothLinfGetsPaperDefaults) {
  ParamMap p = CompleteAttackParams("deepsloth", {});
  EXPECT_EQ(std::get<std::string>(p.at("norm")), "linf");
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("eps")), 8.0 / 255.0);
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("step")), 0.002);
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("iterations")), 30);
  EXPECT_EQ(p.count("gamma"), 0u);
}

TEST(CatalogTest, DeepSlothL2UsesDecayingRadiusParameters) {
  ParamMap p = CompleteAttackParams("deepsloth", {{"norm", "l2"}});
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("eps")), 1.0);
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("gamma")), 0.1);
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("iterations")), 550);
  EXPECT_EQ(p.count("step"), 0u);
}

TEST(CatalogTest, NicgSlowDownBudgetDefaultsDependOnTheNorm) {
  ParamMap l2 = CompleteAttackParams("nicgslowdown", {});
  EXPECT_EQ(std::get<std::string>(l2.at("norm")), "l2");
  EXPECT_DOUBLE_EQ(std::get<double>(l2.at("budget")), 1.0);
  EXPECT_DOUBLE_EQ(std::get<double>(l2.at("c")), 100);
  EXPECT_DOUBLE_EQ(std::get<double>(l2.at("lr")), 0.05);
  EXPECT_DOUBLE_EQ(std::get<double>(l2.at("iterations")), 100);
  EXPECT_DOUBLE_EQ(std::get<double>(l2.at("max_len")), 60);
  ParamMap linf = CompleteAttackParams("nicgslowdown", {{"norm", "linf"}});
  EXPECT_DOUBLE_EQ(std::get<double>(linf.at("budget")), 0.03);
}

TEST(CatalogTest, NmtSlothTakesOneToThreeEdits) {
  ParamMap p = CompleteAttackParams("nmtsloth", {});
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("edits")), 3);
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("candidates")), 16);
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("max_len")), 60);
  EXPECT_THROW(CompleteAttackParams("nmtsloth", {{"edits", "4"}}), AttackError);
  EXPECT_THROW(CompleteAttackParams("nmtsloth", {{"edits", "0"}}), AttackError);
}

TEST(CatalogTest, DecoderFamiliesGetCleanAndTheirOwnAttacksOnly) {
  for (const auto& a : AttackCatalog()) {
    const bool captioning = a.name == "clean" || a.name == "nicgslowdown";
    const bool translation = a.name == "clean" || a.name == "nmtsloth";
    EXPECT_EQ(AttackTargetsFamily(a.name, "captioning"), captioning) << a.name;
    EXPECT_EQ(AttackTargetsFamily(a.name, "translation"), translation) << a.name;
  }
  for (std::string family : {"early_exit", "skip_gate", "adaptive_token"}) {
    EXPECT_TRUE(AttackTargetsFamily("pgd", family)) << family;
    EXPECT_TRUE(AttackTargetsFamily("sponge", family)) << family;
    EXPECT_FALSE(AttackTargetsFamily("nicgslowdown", family)) << family;
  }
  EXPECT_EQ(FindAttack("nicgslowdown").category, "D2");
  EXPECT_EQ(FindAttack("nmtsloth").category, "D2");
}

TEST(CatalogTest, FractionsParseAsNumbers) {
  ParamMap p = CompleteAttackParams("pgd", {{"eps", "4/255"}});
  EXPECT_DOUBLE_EQ(std::get<double>(p.at("eps")), 4.0 / 255.0);
}

struct BadCase {
  std::string attack;
  std::vector<std::pair<std::string, std::string>> given;
  std::string expected_fragment;
};

class CatalogErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CatalogErrorTest, NamesKeyValueAndWhatIsAllowed) {
  const BadCase& c = GetParam();
  try {
    CompleteAttackParams(c.attack, c.given);
    FAIL() << "expected AttackError";
  } catch (const AttackError& e) {
    EXPECT_NE(std::string(e.what()).find(c.expected_fragment), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CatalogErrorTest,
    ::testing::Values(
        BadCase{"deepslot", {}, "allowed: clean, pgd, deepsloth, ilfo, gradmdm,"},
        BadCase{"deepsloth", {{"epz", "0.1"}}, "no parameter 'epz' (allowed: norm, eps"},
        BadCase{"deepsloth", {{"eps", "abc"}}, "'eps' = 'abc' is not a number"},
        BadCase{"deepsloth", {{"eps", "-1"}}, "out of range (allowed: 0 to 100)"},
        BadCase{"deepsloth", {{"norm", "l1"}}, "'l1' is not allowed (allowed: linf, l2)"},
        BadCase{"deepsloth", {{"iterations", "2.5"}}, "must be a whole number"},
        BadCase{"deepsloth", {{"norm", "l2"}, {"step", "0.1"}}, "does not apply to norm 'l2'"},
        BadCase{"clean", {{"eps", "0.1"}}, "(allowed: none)"},
        // Numbers: negative, zero where not allowed, huge, NaN/inf spellings, hex.
        BadCase{"pgd", {{"eps", "-8/255"}}, "'eps' = '-8/255' is out of range (allowed: 0 to 1)"},
        BadCase{"pgd", {{"iterations", "0"}}, "'iterations' = '0' is out of range (allowed: 1 to 100000)"},
        BadCase{"pgd", {{"iterations", "-3"}}, "'iterations' = '-3' is out of range (allowed: 1 to 100000)"},
        BadCase{"pgd", {{"iterations", "1e12"}}, "'iterations' = '1e12' is out of range (allowed: 1 to 100000)"},
        BadCase{"pgd", {{"step", "1e400"}}, "'step' = '1e400' is out of range (allowed: 0 to 1)"},
        BadCase{"pgd", {{"step", "-1e400"}}, "'step' = '-1e400' is out of range (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", "nan"}}, "'eps' = 'nan' is not a number (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", ".nan"}}, "'eps' = '.nan' is not a number (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", "inf"}}, "'eps' = 'inf' is not a number (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", ".inf"}}, "'eps' = '.inf' is not a number (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", "0x1p-5"}}, "'eps' = '0x1p-5' is not a number (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", "8/0"}}, "'eps' = '8/0' is not a number (allowed: 0 to 1)"},
        BadCase{"pgd", {{"eps", "1/2/3"}}, "'eps' = '1/2/3' is not a number"},
        BadCase{"pgd", {{"eps", "1e300/1e-300"}}, "is out of range (allowed: 0 to 1)"},
        BadCase{"deepsloth", {{"eps", std::string(5000, '9')}}, "...(5000 bytes)' is out of range"},
        BadCase{"deepsloth", {{"eps", "1\n2"}}, "'eps' = '1\\n2' is not a number"},
        BadCase{"deepsloth", {{"decay_every", "2.5"}, {"norm", "l2"}}, "must be a whole number (allowed: 1 to 100000)"}));

TEST(CatalogTest, ParseNumberTextTakesDecimalsAndFractionsOnly) {
  double v = 0;
  EXPECT_TRUE(ParseNumberText("1e-3", &v));
  EXPECT_DOUBLE_EQ(v, 0.001);
  EXPECT_TRUE(ParseNumberText("8/255", &v));
  EXPECT_DOUBLE_EQ(v, 8.0 / 255.0);
  for (const char* bad : {"", "nan", "inf", "-inf", "0x10", "1e400", "1/0", " 1", "1 ", "1e"}) {
    EXPECT_FALSE(ParseNumberText(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace effrobust
