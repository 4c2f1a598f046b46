#include "defenses/catalog.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace effrobust {
namespace {

TEST(DefenseCatalogTest, KnowsTheDefaultDefense) {
  EXPECT_EQ(FindDefense(kDefaultDefense).name, "none");
  EXPECT_NO_THROW(CheckDefenseParams("none", {}));
  EXPECT_TRUE(CompleteDefenseParams("none", {}).empty());
}

TEST(DefenseCatalogTest, FillsThePapersDefaults) {
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("jpeg", {})), R"({"quality":75})");
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("block_jpeg", {})), R"({"quality":90})");
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("nl_means", {})), R"({"h":10,"search":21,"template":7})");
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("median", {})), R"({"k":3})");
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("bit_depth", {})), R"({"bits":4})");
}

TEST(DefenseCatalogTest, GivenValuesReplaceDefaultsAndMayBeFractions) {
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("jpeg", {{"quality", "50"}})), R"({"quality":50})");
  EXPECT_EQ(CanonicalJson(CompleteDefenseParams("nl_means", {{"h", "15/2"}, {"search", "11"}})),
            R"({"h":7.5,"search":11,"template":7})");
}

TEST(DefenseCatalogTest, TransformsApplyToImageFamiliesAndCapsToTheirOwn) {
  for (const char* family : {"early_exit", "skip_gate", "adaptive_token", "captioning", "detection"}) {
    EXPECT_TRUE(DefenseAppliesTo("jpeg", family)) << family;
    EXPECT_TRUE(DefenseAppliesTo("nl_means", family)) << family;
  }
  EXPECT_FALSE(DefenseAppliesTo("jpeg", "translation"));
  EXPECT_TRUE(DefenseAppliesTo("exit_cap", "early_exit"));
  EXPECT_FALSE(DefenseAppliesTo("exit_cap", "skip_gate"));
  EXPECT_TRUE(DefenseAppliesTo("decode_cap", "captioning"));
  EXPECT_TRUE(DefenseAppliesTo("decode_cap", "translation"));
  EXPECT_FALSE(DefenseAppliesTo("decode_cap", "detection"));
  EXPECT_TRUE(DefenseAppliesTo("nms_cap", "detection"));
  EXPECT_FALSE(DefenseAppliesTo("nms_cap", "captioning"));
  EXPECT_EQ(FindDefense("exit_cap").kind, DefenseKind::kRuntimeCap);
  EXPECT_EQ(FindDefense("median").kind, DefenseKind::kTransform);
  EXPECT_EQ(FindDefense("none").kind, DefenseKind::kNone);
  EXPECT_EQ(DefenseFamiliesText("decode_cap"), "captioning, translation");
  EXPECT_THROW(DefenseAppliesTo("shield", "early_exit"), DefenseError);
}

struct BadDefense {
  std::string name;
  std::vector<std::pair<std::string, std::string>> given;
  std::string fragment;
};

class DefenseCatalogErrorTest : public ::testing::TestWithParam<BadDefense> {};

TEST_P(DefenseCatalogErrorTest, NamesTheValueAndWhatIsAllowed) {
  const BadDefense& c = GetParam();
  try {
    CheckDefenseParams(c.name, c.given);
    FAIL() << "expected DefenseError";
  } catch (const DefenseError& e) {
    EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DefenseCatalogErrorTest,
    ::testing::Values(
        BadDefense{"shield", {},
                   "[defenses] unknown defense 'shield' (allowed: none, jpeg, block_jpeg, nl_means, "
                   "median, bit_depth, exit_cap, decode_cap, nms_cap, input_detector)"},
        BadDefense{"", {}, "unknown defense '' (allowed: none, jpeg"},
        BadDefense{"a\nb", {}, "unknown defense 'a\\nb' (allowed: none, jpeg"},
        BadDefense{"none", {{"quality", "75"}}, "defense 'none' has no parameter 'quality' (allowed: none)"},
        BadDefense{"jpeg", {{"q", "75"}}, "defense 'jpeg' has no parameter 'q' (allowed: quality)"},
        BadDefense{"jpeg", {{"quality", "high"}},
                   "defense 'jpeg' parameter 'quality' = 'high' is not a number (allowed: whole numbers 1 to 100)"},
        BadDefense{"jpeg", {{"quality", "0"}}, "parameter 'quality' = '0' is out of range (allowed: whole numbers 1 to 100)"},
        BadDefense{"block_jpeg", {{"quality", "90.5"}}, "parameter 'quality' = '90.5' must be a whole number"},
        BadDefense{"nl_means", {{"h", "nan"}}, "parameter 'h' = 'nan' is not a number (allowed: 0.1 to 255)"},
        BadDefense{"nl_means", {{"template", "8"}}, "parameter 'template' = '8' must be odd (allowed: odd whole numbers 1 to 35)"},
        BadDefense{"nl_means", {{"search", "1e999"}}, "parameter 'search' = '1e999' is not a number"},
        BadDefense{"median", {{"k", "2"}}, "defense 'median' parameter 'k' = '2' must be odd (allowed: odd whole numbers 1 to 99)"},
        BadDefense{"median", {{"k", "-3"}}, "parameter 'k' = '-3' is out of range"},
        BadDefense{"bit_depth", {{"bits", "9"}}, "parameter 'bits' = '9' is out of range (allowed: whole numbers 1 to 8)"}));

}  // namespace
}  // namespace effrobust
