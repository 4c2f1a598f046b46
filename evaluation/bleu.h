// Corpus BLEU (Papineni et al., ACL 2002), as used for captioning and
// translation quality: n-gram precisions clipped by the largest count of the
// n-gram in any one reference, summed over the corpus for n = 1..max_n,
// combined by a uniform geometric mean, times the brevity penalty
// exp(1 - r / c) when the total candidate length c is below r, the sum over
// candidates of the reference length closest to the candidate's (the shorter
// on a tie). No smoothing: a corpus without any matching max_n-gram scores 0.
// Torch-free.
#ifndef EFFROBUST_EVALUATION_BLEU_H_
#define EFFROBUST_EVALUATION_BLEU_H_

#include <string>
#include <vector>

namespace effrobust {

using Tokens = std::vector<std::string>;

// candidates[i] is scored against references[i] (one or more). Throws
// std::invalid_argument if the sizes differ, a candidate has no reference, or
// max_n < 1. An empty corpus scores 0.
double CorpusBleu(const std::vector<Tokens>& candidates,
                  const std::vector<std::vector<Tokens>>& references, int max_n = 4);

// What corpus BLEU is computed from. Every field is a sum over the corpus's
// sentences, so the BLEU of several corpora together (e.g. the shards of an
// experiment) is Score() of their summed statistics.
struct BleuStats {
  std::vector<double> matched;   // clipped n-gram matches, n = 1..max_n
  std::vector<double> total;     // candidate n-grams, n = 1..max_n
  double candidate_length = 0;   // c: candidate tokens
  double reference_length = 0;   // r: closest reference lengths

  // Adds `other`'s sums. Throws std::invalid_argument if max_n differs
  // (an empty BleuStats takes other's max_n).
  void Add(const BleuStats& other);
  // Corpus BLEU of these sums (0 without any max_n-gram match or when empty).
  double Score() const;
};

// The statistics CorpusBleu scores; same arguments and errors.
BleuStats CorpusBleuStats(const std::vector<Tokens>& candidates,
                          const std::vector<std::vector<Tokens>>& references, int max_n = 4);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_BLEU_H_
