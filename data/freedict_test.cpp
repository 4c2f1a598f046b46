// Tests for the torch-free FreeDict (dictd format) reader.
#include "data/freedict.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

// Encodes a non-negative number in dictd base64 (the inverse of DecodeDictBase64).
std::string EncodeDictBase64(int64_t v) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  do {
    out.insert(out.begin(), kAlphabet[v % 64]);
    v /= 64;
  } while (v > 0);
  return out;
}

void WriteGz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(f);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Writes DIR/NAME.index + DIR/NAME.dict.dz holding `entries` ({index headword, body}); the
// index lists them in the given order.
void WriteDictd(const TempDir& dir, const std::string& name,
                const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string dict;
  std::string index;
  for (const auto& [headword, body] : entries) {
    index += headword + "\t" + EncodeDictBase64(static_cast<int64_t>(dict.size())) + "\t" +
             EncodeDictBase64(static_cast<int64_t>(body.size())) + "\n";
    dict += body;
  }
  WriteText(dir.File(name + ".index"), index);
  WriteGz(dir.File(name + ".dict.dz"), dict);
}

const char kEelLadder[] =
    "eel ladder /\xCB\x88i\xCB\x90l l\xCB\x88\x61\x64\xC9\x99/\n"
    "Aalleiter <fem>, Aaltreppe <fem>, Aalpass <masc>\n"
    "         Note: Wasserbau\n"
    " see: {eel ladders}\n"
    "\n";

TEST(DecodeDictBase64Test, DecodesMostSignificantDigitFirst) {
  EXPECT_EQ(DecodeDictBase64("A"), 0);
  EXPECT_EQ(DecodeDictBase64("B"), 1);
  EXPECT_EQ(DecodeDictBase64("/"), 63);
  EXPECT_EQ(DecodeDictBase64("B8"), 124);  // 1*64 + 60
  // B=1 F=5 G=6 y=50 7=59: 1*64^4 + 5*64^3 + 6*64^2 + 50*64 + 59.
  EXPECT_EQ(DecodeDictBase64("BFGy7"), 16777216 + 1310720 + 24576 + 3200 + 59);
  EXPECT_EQ(DecodeDictBase64("BFGy7"), 18115771);
}

TEST(DecodeDictBase64Test, BadCharacterOrEmptyThrows) {
  EXPECT_THROW(DecodeDictBase64("B=8"), DataError);
  EXPECT_THROW(DecodeDictBase64("-"), DataError);
  EXPECT_THROW(DecodeDictBase64(""), DataError);
}

TEST(FirstTranslationTest, TakesFirstItemWithTagsStripped) {
  EXPECT_EQ(FirstTranslation(kEelLadder), "Aalleiter");
  EXPECT_EQ(FirstTranslation("dog /d\xCB\x88\xC9\x92\xC9\xA1/\nHund <masc> [zool.]\n"
                             "      \"train a dog\"  - einen Hund abrichten\n"),
            "Hund");
  EXPECT_EQ(FirstTranslation("topsoil\nHumusschicht <fem> [agr.]  [geol.]\n"), "Humusschicht");
  // A multi-word translation keeps its inner spaces; a comma inside parentheses does not split.
  EXPECT_EQ(FirstTranslation("x\n(sich, etw.)  etwas  merken <vt>, y\n"),
            "(sich, etw.) etwas merken");
  // Tags inside a translation, and a label at the start of the line.
  EXPECT_EQ(FirstTranslation("one and a half\n[Br.] anderthalb, eineinhalb <num>\n"), "anderthalb");
}

TEST(FirstTranslationTest, AcceptsLabelledLineStartingWithSpace) {
  EXPECT_EQ(FirstTranslation("congo eels /k/\n [coll.] Aalmolche <pl>, Fischmolche <pl> [zool.]\n"
                             "         Note: Amphiuma\n"),
            "Aalmolche");
}

TEST(FirstTranslationTest, IgnoresNoteSeeSynonymAndExampleLines) {
  EXPECT_EQ(FirstTranslation("word /w/\n         Note: Wasserbau\n see: {words}\n"
                             "   Synonyms: {a}, {b}\n      \"a word\"  - ein Wort\n"),
            "");
  EXPECT_EQ(FirstTranslation("word /w/\n         Note: nur Notiz\nWort <neut>\n"), "Wort");
}

TEST(FirstTranslationTest, NoTranslationGivesEmpty) {
  EXPECT_EQ(FirstTranslation(""), "");
  EXPECT_EQ(FirstTranslation("lonely headword /l/\n"), "");
  EXPECT_EQ(FirstTranslation("tags only\n<fem> [zool.]\n"), "");
}

TEST(LoadFreeDictTest, ReadsFixtureSkippingMetadataEntries) {
  TempDir dir("freedict");
  WriteDictd(dir, "test-eng-deu",
             {{"00databaseinfo", "00-database-info\nThis is a test dictionary, not data\n"},
              {"", "dollar sign /d/ ($)\nDollar-Zeichen <neut>$\n"},
              {"dog", "dog /d\xCB\x88\xC9\x92\xC9\xA1/\nHund <masc> [zool.]\n see: {dogs}\n\n"},
              {"eel ladder", kEelLadder},
              {"eelsmoking business",
               "eel-smoking business /x/\nAalr\xC3\xA4ucherei <fem>\n   Synonym: {eel smokery}\n"},
              {"nothing", "nothing /n/\n         Note: no translation here\n"}});
  const std::vector<DictPair> pairs = LoadFreeDict(dir.path(), "test-eng-deu");
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].source, "dog");
  EXPECT_EQ(pairs[0].target, "Hund");
  EXPECT_EQ(pairs[1].source, "eel ladder");
  EXPECT_EQ(pairs[1].target, "Aalleiter");
  // The source is the body's spelling, not the normalised index headword.
  EXPECT_EQ(pairs[2].source, "eel-smoking business");
  EXPECT_EQ(pairs[2].target, "Aalr\xC3\xA4ucherei");
}

TEST(LoadFreeDictTest, MissingFileNamesTheFile) {
  TempDir dir("freedict");
  try {
    LoadFreeDict(dir.path(), "absent");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.File("absent.index")), std::string::npos) << e.what();
  }
  // Index present, .dict.dz missing.
  WriteText(dir.File("half.index"), "dog\tA\tB\n");
  try {
    LoadFreeDict(dir.path(), "half");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.File("half.dict.dz")), std::string::npos) << e.what();
  }
}

TEST(LoadFreeDictTest, CorruptIndexLineNamesFileAndLine) {
  TempDir dir("freedict");
  WriteDictd(dir, "bad", {{"dog", "dog /d/\nHund <masc>\n"}});
  const std::string index = dir.File("bad.index");
  for (const std::string& bad_line :
       {std::string("cat\tA*\tB"), std::string("cat\tA"), std::string("cat\tA\tzzzz")}) {
    WriteText(index, "dog\tA\tQ\n" + bad_line + "\n");
    try {
      LoadFreeDict(dir.path(), "bad");
      FAIL() << "expected DataError for '" << bad_line << "'";
    } catch (const DataError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(index), std::string::npos) << what;
      EXPECT_NE(what.find("line 2"), std::string::npos) << what;
    }
  }
}

TEST(LoadFreeDictTest, CorruptDictNamesTheFile) {
  TempDir dir("freedict");
  WriteDictd(dir, "trunc", {{"dog", std::string(4000, 'x')}});
  const std::string dz = dir.File("trunc.dict.dz");
  std::filesystem::resize_file(dz, std::filesystem::file_size(dz) / 2);
  try {
    LoadFreeDict(dir.path(), "trunc");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(dz), std::string::npos) << e.what();
  }
}

TEST(SimpleWordPairsTest, KeepsSingleWordsLowercasingGermanTarget) {
  const std::vector<DictPair> pairs = {{"dog", "Hund"},
                                       {"eel ladder", "Aalleiter"},
                                       {"Aalenian", "Aalen"},
                                       {"street",
                                        "Stra\xC3\x9F"
                                        "e"},
                                       {"oven",
                                        "\xC3\x96"
                                        "fen"},
                                       {"a", "ein"},
                                       {"overlongwordhere", "x"},
                                       {"door", "T\xC3\xBCr-Rahmen"},
                                       {"eel", "Aal"}};
  const std::vector<DictPair> simple = SimpleWordPairs(pairs, 2, 12);
  ASSERT_EQ(simple.size(), 4u);
  EXPECT_EQ(simple[0].source, "dog");
  EXPECT_EQ(simple[0].target, "hund");
  EXPECT_EQ(simple[1].target,
            "stra\xC3\x9F"
            "e");
  EXPECT_EQ(simple[2].target,
            "\xC3\xB6"
            "fen");
  EXPECT_EQ(simple[3].target, "aal");
  // Lengths count characters: "öfen" is 4 characters, 5 bytes.
  EXPECT_EQ(SimpleWordPairs({{"oven",
                              "\xC3\x96"
                              "fen"}},
                            2, 4)
                .size(),
            1u);
  EXPECT_EQ(SimpleWordPairs({{"oven",
                              "\xC3\x96"
                              "fen"}},
                            5, 12)
                .size(),
            0u);
}

TEST(LoadFreeDictTest, RealEnglishGermanDictionary) {
  const std::string dir = DefaultFreeDictDir();
  if (!std::filesystem::exists(dir + "/freedict-eng-deu.index")) {
    GTEST_SKIP() << "dict-freedict-eng-deu not installed in " << dir;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<DictPair> pairs = LoadFreeDict(dir);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(pairs.size(), 100000u);
  bool dog_hund = false;
  for (const DictPair& p : pairs) dog_hund |= (p.source == "dog" && p.target == "Hund");
  EXPECT_TRUE(dog_hund);
  const std::vector<DictPair> simple = SimpleWordPairs(pairs);
  EXPECT_GT(simple.size(), 5000u);
  std::printf("[freedict] %zu pairs, %zu simple word pairs, loaded in %.2f s\n", pairs.size(),
              simple.size(), seconds);
}

}  // namespace
}  // namespace effrobust
