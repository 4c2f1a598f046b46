// Corpus BLEU on hand-computed examples.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "evaluation/bleu.h"

namespace effrobust {
namespace {

Tokens T(const std::string& s) {
  Tokens t;
  std::istringstream in(s);
  for (std::string w; in >> w;) t.push_back(w);
  return t;
}

TEST(CorpusBleu, IdenticalCaptionScoresOne) {
  EXPECT_DOUBLE_EQ(CorpusBleu({T("there is a coat and a bag")}, {{T("there is a coat and a bag")}}),
                   1.0);
}

TEST(CorpusBleu, BigramBleuOfAHandCountedPair) {
  // Unigrams 5/6 (sat unmatched), bigrams 3/5 (the cat, on the, the mat);
  // equal lengths: no brevity penalty. BLEU-2 = sqrt(5/6 * 3/5) = sqrt(1/2).
  const double b = CorpusBleu({T("the cat sat on the mat")}, {{T("the cat is on the mat")}}, 2);
  EXPECT_NEAR(b, std::sqrt(0.5), 1e-12);
  // No 4-gram matches: BLEU-4 is 0 (no smoothing).
  EXPECT_EQ(CorpusBleu({T("the cat sat on the mat")}, {{T("the cat is on the mat")}}), 0.0);
}

TEST(CorpusBleu, ShortCandidatePaysTheBrevityPenalty) {
  // Precisions 1, c = 2, r = 6: exp(1 - 6 / 2).
  EXPECT_NEAR(CorpusBleu({T("the cat")}, {{T("the cat sat on the mat")}}, 2), std::exp(-2.0),
              1e-12);
}

TEST(CorpusBleu, CountsAreClippedByTheBestSingleReferenceAndTheClosestLengthIsUsed) {
  // "the" x3: the most any one reference has is 2 -> 2/3. Reference lengths
  // 2 and 3, candidate 3: r = 3, no penalty.
  EXPECT_NEAR(CorpusBleu({T("the the the")}, {{T("the cat"), T("the the dog")}}, 1), 2.0 / 3.0,
              1e-12);
}

TEST(CorpusBleu, SumsCountsOverTheCorpusBeforeDividing) {
  // Sentence 1: 2/2 unigrams; sentence 2: 0/1. Corpus: 2/3 (not the mean 1/2).
  EXPECT_NEAR(CorpusBleu({T("a bag"), T("coat")}, {{T("a bag")}, {T("dress")}}, 1), 2.0 / 3.0,
              1e-12);
}

TEST(BleuStats, HandCountedStatisticsAndPoolingTwoCorporaEqualsTheirUnion) {
  BleuStats a = CorpusBleuStats({T("the cat sat on the mat")}, {{T("the cat is on the mat")}}, 2);
  EXPECT_EQ(a.matched, (std::vector<double>{5, 3}));
  EXPECT_EQ(a.total, (std::vector<double>{6, 5}));
  EXPECT_EQ(a.candidate_length, 6);
  EXPECT_EQ(a.reference_length, 6);
  BleuStats b = CorpusBleuStats({T("the cat")}, {{T("the cat sat on the mat")}}, 2);
  BleuStats pooled;
  pooled.Add(a);
  pooled.Add(b);
  const double together = CorpusBleu({T("the cat sat on the mat"), T("the cat")},
                                     {{T("the cat is on the mat")}, {T("the cat sat on the mat")}},
                                     2);
  EXPECT_DOUBLE_EQ(pooled.Score(), together);
  EXPECT_EQ(BleuStats().Score(), 0.0);
  EXPECT_THROW(pooled.Add(CorpusBleuStats({T("a")}, {{T("a")}}, 4)), std::invalid_argument);
}

TEST(CorpusBleu, MismatchedSizesOrNoReferenceAreErrors) {
  EXPECT_THROW(CorpusBleu({T("a")}, {}), std::invalid_argument);
  EXPECT_THROW(CorpusBleu({T("a")}, {{}}), std::invalid_argument);
  EXPECT_THROW(CorpusBleu({T("a")}, {{T("a")}}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace effrobust
