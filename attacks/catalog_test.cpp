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
        BadCase{"deepslot", {}, "allowed: clean, pgd, deepsloth"},
        BadCase{"deepsloth", {{"epz", "0.1"}}, "no parameter 'epz' (allowed: norm, eps"},
        BadCase{"deepsloth", {{"eps", "abc"}}, "'eps' = 'abc' is not a number"},
        BadCase{"deepsloth", {{"eps", "-1"}}, "out of range (allowed: 0 to 100)"},
        BadCase{"deepsloth", {{"norm", "l1"}}, "'l1' is not allowed (allowed: linf, l2)"},
        BadCase{"deepsloth", {{"iterations", "2.5"}}, "must be a whole number"},
        BadCase{"deepsloth", {{"norm", "l2"}, {"step", "0.1"}}, "does not apply to norm 'l2'"},
        BadCase{"clean", {{"eps", "0.1"}}, "(allowed: none)"}));

}  // namespace
}  // namespace effrobust
