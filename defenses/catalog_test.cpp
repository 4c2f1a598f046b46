#include "defenses/catalog.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace effrobust {
namespace {

TEST(DefenseCatalogTest, KnowsTheDefaultDefense) {
  EXPECT_EQ(FindDefense(kDefaultDefense).name, "none");
  EXPECT_NO_THROW(CheckDefenseParams("none", {}));
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
    ::testing::Values(BadDefense{"jpeg", {}, "[defenses] unknown defense 'jpeg' (allowed: none)"},
                      BadDefense{"", {}, "unknown defense '' (allowed: none)"},
                      BadDefense{"a\nb", {}, "unknown defense 'a\\nb' (allowed: none)"},
                      BadDefense{"none",
                                 {{"quality", "75"}},
                                 "defense 'none' has no parameter 'quality' (allowed: none)"}));

}  // namespace
}  // namespace effrobust
