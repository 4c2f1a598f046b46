#include "evaluation/bleu.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace effrobust {

namespace {

std::map<Tokens, int> NGrams(const Tokens& t, int n) {
  std::map<Tokens, int> counts;
  for (size_t i = 0; i + n <= t.size(); ++i) ++counts[Tokens(t.begin() + i, t.begin() + i + n)];
  return counts;
}

}  // namespace

BleuStats CorpusBleuStats(const std::vector<Tokens>& candidates,
                          const std::vector<std::vector<Tokens>>& references, int max_n) {
  if (candidates.size() != references.size() || max_n < 1) {
    throw std::invalid_argument("BLEU needs one reference list per candidate and max_n >= 1");
  }
  BleuStats s;
  s.matched.assign(max_n, 0);
  s.total.assign(max_n, 0);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Tokens& cand = candidates[i];
    if (references[i].empty()) {
      throw std::invalid_argument("BLEU: candidate " + std::to_string(i) + " has no reference");
    }
    s.candidate_length += static_cast<double>(cand.size());
    size_t best = references[i][0].size();
    for (const Tokens& ref : references[i]) {
      const auto d = std::labs(static_cast<long>(ref.size()) - static_cast<long>(cand.size()));
      const auto bd = std::labs(static_cast<long>(best) - static_cast<long>(cand.size()));
      if (d < bd || (d == bd && ref.size() < best)) best = ref.size();
    }
    s.reference_length += static_cast<double>(best);
    for (int n = 1; n <= max_n; ++n) {
      std::map<Tokens, int> max_ref;
      for (const Tokens& ref : references[i]) {
        for (const auto& [gram, k] : NGrams(ref, n)) max_ref[gram] = std::max(max_ref[gram], k);
      }
      for (const auto& [gram, k] : NGrams(cand, n)) {
        auto it = max_ref.find(gram);
        s.matched[n - 1] += std::min(k, it == max_ref.end() ? 0 : it->second);
        s.total[n - 1] += k;
      }
    }
  }
  return s;
}

void BleuStats::Add(const BleuStats& other) {
  if (matched.empty() && total.empty()) {
    matched.assign(other.matched.size(), 0);
    total.assign(other.total.size(), 0);
  }
  if (other.matched.size() != matched.size() || other.total.size() != total.size()) {
    throw std::invalid_argument("BLEU statistics of different max_n cannot be added");
  }
  for (size_t n = 0; n < matched.size(); ++n) {
    matched[n] += other.matched[n];
    total[n] += other.total[n];
  }
  candidate_length += other.candidate_length;
  reference_length += other.reference_length;
}

double BleuStats::Score() const {
  if (matched.empty() || candidate_length <= 0) return 0;
  double log_sum = 0;
  for (size_t n = 0; n < matched.size(); ++n) {
    if (matched[n] == 0 || total[n] == 0) return 0;
    log_sum += std::log(matched[n] / total[n]);
  }
  const double c = candidate_length, r = reference_length;
  const double bp = c < r ? std::exp(1.0 - r / c) : 1.0;
  return bp * std::exp(log_sum / static_cast<double>(matched.size()));
}

double CorpusBleu(const std::vector<Tokens>& candidates,
                  const std::vector<std::vector<Tokens>>& references, int max_n) {
  return CorpusBleuStats(candidates, references, max_n).Score();
}

}  // namespace effrobust
