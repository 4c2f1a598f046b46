#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "results/index.h"
#include "results/render.h"

namespace effrobust {
namespace {

struct RenderCase {
  std::string name;
  TableFormat format;
  QueryResult input;
  std::string expected;
};

const QueryResult kSimple = {{"model", "acc"}, {{"sdn", "0.91"}, {"resnet-long", "1"}}};
const QueryResult kNoRows = {{"a", "b"}, {}};

TEST(RenderTest, RendersEachFormat) {
  const std::vector<RenderCase> cases = {
      {"aligned pads and right-aligns numbers", TableFormat::kAligned, kSimple,
       "model         acc\n"
       "-----------  ----\n"
       "sdn          0.91\n"
       "resnet-long     1\n"},
      {"aligned with no rows", TableFormat::kAligned, kNoRows, "a  b\n-  -\n"},
      {"aligned flattens newlines", TableFormat::kAligned, {{"x"}, {{"a\nb"}}},
       "x\n---\na b\n"},
      {"aligned counts utf-8 characters", TableFormat::kAligned,
       {{"name", "n"}, {{"\xc3\xa9t\xc3\xa9", "2"}}},
       "name  n\n----  -\n\xc3\xa9t\xc3\xa9   2\n"},
      {"aligned with empty cells in numeric column", TableFormat::kAligned,
       {{"k", "v"}, {{"a", ""}, {"b", "12"}}},
       "k   v\n-  --\na\nb  12\n"},
      {"csv plain", TableFormat::kCsv, kSimple, "model,acc\nsdn,0.91\nresnet-long,1\n"},
      {"csv quotes commas quotes and newlines", TableFormat::kCsv,
       {{"a,b", "c"}, {{"say \"hi\"", "x\ny"}, {"", "plain"}}},
       "\"a,b\",c\n\"say \"\"hi\"\"\",\"x\ny\"\n,plain\n"},
      {"csv with no rows", TableFormat::kCsv, kNoRows, "a,b\n"},
      {"json numbers unquoted strings quoted", TableFormat::kJson, kSimple,
       "[\n"
       "  {\"model\": \"sdn\", \"acc\": 0.91},\n"
       "  {\"model\": \"resnet-long\", \"acc\": 1}\n"
       "]\n"},
      {"json keeps non-json numbers as strings", TableFormat::kJson,
       {{"v"}, {{"-1.5e3"}, {"1."}, {"0x10"}, {"inf"}, {"nan"}, {""}, {"007"}, {" 1"},
               {"1e999"}, {"+1"}}},
       "[\n"
       "  {\"v\": -1.5e3},\n"
       "  {\"v\": \"1.\"},\n"
       "  {\"v\": \"0x10\"},\n"
       "  {\"v\": \"inf\"},\n"
       "  {\"v\": \"nan\"},\n"
       "  {\"v\": \"\"},\n"
       "  {\"v\": \"007\"},\n"
       "  {\"v\": \" 1\"},\n"
       "  {\"v\": \"1e999\"},\n"
       "  {\"v\": \"+1\"}\n"
       "]\n"},
      {"json escapes", TableFormat::kJson, {{"k\"ey"}, {{"a\\b\n"}}},
       "[\n  {\"k\\\"ey\": \"a\\\\b\\n\"}\n]\n"},
      {"json with no rows", TableFormat::kJson, kNoRows, "[]\n"},
      {"markdown right-aligns numbers", TableFormat::kMarkdown, kSimple,
       "| model       |  acc |\n"
       "| ----------- | ---: |\n"
       "| sdn         | 0.91 |\n"
       "| resnet-long |    1 |\n"},
      {"markdown escapes pipes", TableFormat::kMarkdown, {{"a|b"}, {{"x|y"}}},
       "| a\\|b |\n| ---- |\n| x\\|y |\n"},
      {"latex escapes specials", TableFormat::kLatex,
       {{"name_x", "pct"}, {{"a&b #1 $x$ {y} ~^\\", "50%"}}},
       "\\begin{tabular}{ll}\n"
       "\\hline\n"
       "name\\_x & pct \\\\\n"
       "\\hline\n"
       "a\\&b \\#1 \\$x\\$ \\{y\\} \\textasciitilde{}\\textasciicircum{}\\textbackslash{} & "
       "50\\% \\\\\n"
       "\\hline\n"
       "\\end{tabular}\n"},
      {"latex right-aligns numeric columns", TableFormat::kLatex, kSimple,
       "\\begin{tabular}{lr}\n"
       "\\hline\n"
       "model & acc \\\\\n"
       "\\hline\n"
       "sdn & 0.91 \\\\\n"
       "resnet-long & 1 \\\\\n"
       "\\hline\n"
       "\\end{tabular}\n"},
  };
  for (const RenderCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RenderTable(c.input, c.format), c.expected);
  }
}

TEST(RenderTest, NoColumnsRendersNothingOrEmptyArray) {
  const QueryResult none;
  EXPECT_EQ(RenderTable(none, TableFormat::kAligned), "");
  EXPECT_EQ(RenderTable(none, TableFormat::kCsv), "");
  EXPECT_EQ(RenderTable(none, TableFormat::kMarkdown), "");
  EXPECT_EQ(RenderTable(none, TableFormat::kLatex), "");
  EXPECT_EQ(RenderTable(none, TableFormat::kJson), "[]\n");
}

TEST(RenderTest, RaggedRowIsError) {
  const QueryResult ragged = {{"a", "b"}, {{"1"}}};
  EXPECT_THROW(RenderTable(ragged, TableFormat::kCsv), ResultsError);
}

TEST(RenderTest, ParsesFormatNames) {
  const std::vector<std::pair<std::string, TableFormat>> cases = {
      {"aligned", TableFormat::kAligned}, {"table", TableFormat::kAligned},
      {"csv", TableFormat::kCsv},         {"json", TableFormat::kJson},
      {"markdown", TableFormat::kMarkdown}, {"md", TableFormat::kMarkdown},
      {"latex", TableFormat::kLatex},     {"CSV", TableFormat::kCsv},
  };
  for (const auto& [text, format] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseTableFormat(text), format);
  }
}

TEST(RenderTest, UnknownFormatIsSpecErrorListingAllowedValues) {
  for (const std::string text : {"xml", "", "jsonl"}) {
    SCOPED_TRACE(text);
    try {
      ParseTableFormat(text);
      ADD_FAILURE() << "expected SpecError";
    } catch (const SpecError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("'" + text + "'"), std::string::npos) << what;
      for (const char* allowed : {"aligned", "table", "csv", "json", "markdown", "md", "latex"}) {
        EXPECT_NE(what.find(allowed), std::string::npos) << what;
      }
    }
  }
}

}  // namespace
}  // namespace effrobust
