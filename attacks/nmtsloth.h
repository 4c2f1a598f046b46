// NMTSloth (Chen et al., ESEC/FSE 2022; attacks.md 8) against the character
// translator: edit a few characters of each source so greedy decoding
// emits <end> as late as possible.
//  * Loss (per source, over the steps of its own greedy output): s_t =
//    p_t(<end>) + [y_t != <end>] p_t(y_t) with y_t the emitted token (the
//    argmax), the last step's s halved, L = mean_t -log(1 - s_t) (binary
//    cross-entropy of s against 0). Computed from the logits so it does not
//    saturate.
//  * Each iteration (at most `edits`) takes g_j = dL/dE_j at every source
//    position j (the characters then <end>; E_j its embedding) and scores
//    every one-character edit by its first-order change of L, writing
//    G[j, v] = E_v . g_j:
//      substitute x_j by v:  G[j, v] - G[j, x_j];
//      insert v before j (j = length appends):  G[j, v] - G[j, x_j] +
//        sum_{k > j} (G[k, x_{k-1}] - G[k, x_k]), i.e. the new character at
//        j and every later character shifted one place right (the new last
//        position, <end>, has no gradient and is left out);
//      delete x_j:  sum_{j <= k < length} (G[k, x_{k+1}] - G[k, x_k]) -
//        G[length, <end>], i.e. later characters shifted one place left and
//        the last position removed (its embedding set to zero).
//    The `candidates` lowest-scoring distinct texts are decoded greedily in
//    one batch (all sources together); the one with the most decoder steps
//    is kept (ties: lower loss, then better score) if it has more steps
//    than the current text, otherwise the source stops early. A source is
//    never deleted down to the empty string.
//  * Characters come from the vocabulary's non-special tokens that are one
//    ASCII byte (lead and continuation bytes of UTF-8 characters are left
//    out so an ASCII source stays valid UTF-8). Sources are edited as bytes,
//    like the vocabulary splits them.
// Measured (docs for whoever tunes it): on the unit-test fixture and on a
// 60000-pair GRU translator, this first-order ranking picks edits no better
// than a random order of the same edits (16 candidates, 200 test sources:
// x1.42 mean steps either way); the number of candidates decoded is what
// lengthens more (fixture, 40 sources: 16 -> x1.42, 64 -> x1.55, every
// edit -> x1.78).
// Every kept edit lengthens the output, so the last edit set is the longest
// one. Deterministic (no randomness); each source's loss and gradient cover
// only its own steps. Thread-safety: one call at a time per model (it turns
// its parameters' requires_grad off while it runs).
#ifndef EFFROBUST_ATTACKS_NMTSLOTH_H_
#define EFFROBUST_ATTACKS_NMTSLOTH_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/vocabulary.h"
#include "models/decoding.h"
#include "models/translator.h"

namespace effrobust {

struct NmtSlothOptions {
  int64_t edits = 3;        // Default: 3 (greedy edit iterations = character budget; 1..3)
  int64_t candidates = 16;  // Default: 16 (edits decoded per iteration, chosen by gradient)
  int64_t max_len = 60;     // Default: 60 (greedy decoding limit)
};

struct NmtSlothResult {
  std::vector<std::string> sources;  // adversarial (or clean, if nothing lengthened) sources
  std::vector<int64_t> steps;        // decoder steps of each kept source
  std::vector<int64_t> steps_clean;  // decoder steps of each clean source
  std::vector<int64_t> edits;        // character edits in each kept source (0..options.edits)
};

// The NMTSloth loss of each sample [B] of a greedy result (see file
// comment): a mean over the sample's g.steps. Keeps the graph of g.logits.
torch::Tensor NmtSlothLoss(const GreedyResult& g);

// Throws AttackError on bad options (edits outside 1..3, candidates < 1,
// max_len < 1) or a vocabulary without characters to insert. Gradients are
// on inside whatever the caller's grad mode. The model is left in eval
// mode with its parameters' requires_grad and gradients as they were.
// steps and steps_clean are those of greedy decoding of all kept sources,
// respectively all clean sources, as one batch each.
NmtSlothResult NmtSloth(Translator& model, const Vocabulary& vocab,
                        const std::vector<std::string>& sources, const NmtSlothOptions& options);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_NMTSLOTH_H_
