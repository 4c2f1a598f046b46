// Per-unit summary of D2 measurements (autoregressive decoders: captioners
// and translators, whose cost is the number of decoding steps), computed
// from a unit's rows. The worker sends it to rank 0, which stores it in
// SQLite; tests recompute it from the HDF5 rows. Pure functions,
// thread-safe.
//
// Row columns (one row per sample; "clean" / "adv" decode the clean and
// the adversarial input greedily at batch 1, up to the model's max_len):
//   int:  sample_index                       index in the dataset split
//         steps_clean, steps_adv             decoder steps run: tokens + 1
//                                            when <end> came, else max_len
//         length_clean, length_adv           tokens emitted (<end> excluded)
//         ended_clean, ended_adv             1 if <end> came within max_len
//   real: latency_clean_ms, latency_adv_ms   batch-1 greedy decoding: median
//                                            of latency_repeats after
//                                            latency_warmup; NaN if disabled
//         pend_mean_clean, pend_mean_adv     p(<end>) over the steps run:
//         pend_max_clean, pend_max_adv       mean and largest
//   text: text_clean, text_adv               the decoded output (UTF-8)
//   captioning also  real l2, linf           sum of squared differences (the
//                                            NICGSlowDown l2 budget's
//                                            measure) and largest |change|
//   translation also int edits; text source_adv (the edited source)
//
// I-Loops of a sample = (steps_adv + 1) / (steps_clean + 1) - 1, with steps
// the decoder steps run (NMTSloth's smoothed ratio, attacks.md 8.4, taken
// over decoder steps rather than output tokens, so a caption that stops at
// <end> and one cut at max_len are counted by the work done);
// I-Latency = latency_adv / latency_clean - 1.
#ifndef EFFROBUST_EVALUATION_D2_SUMMARY_H_
#define EFFROBUST_EVALUATION_D2_SUMMARY_H_

#include <map>
#include <string>
#include <vector>

#include "evaluation/bleu.h"
#include "results/row_batch.h"

namespace effrobust {

// I-Loops of one sample (see the file comment).
double ILoops(double steps_clean, double steps_adv);

// Summary metrics (names as stored in the SQLite metrics table): samples,
// mean_iloops, max_iloops, mean_ilatency, max_ilatency (NaN without
// latency), mean_steps_clean, mean_steps_adv, mean_length_clean,
// mean_length_adv, ended_clean, ended_adv (shares that reached <end>),
// mean_pend_clean, mean_pend_adv (mean of pend_mean_*), max_pend_clean,
// max_pend_adv, mean_latency_clean_ms, mean_latency_adv_ms, latency_ratio
// (mean adv / mean clean); with columns l2, linf: mean_l2, max_l2,
// mean_linf, max_linf; with column edits: mean_edits, max_edits.
// Throws ResultsError if a column is missing.
std::map<std::string, double> SummarizeD2(const RowBatch& rows);

// Stores BLEU-4 of `which` ("clean" or "adv") outputs as bleu4_<which> and
// its statistics as bleu_<which>_match<n>, bleu_<which>_total<n> (n = 1..4),
// bleu_<which>_hyp_len, bleu_<which>_ref_len, so tables can pool units into
// one corpus BLEU. REQUIRES: stats of max_n 4 (or empty).
void AddBleuMetrics(const std::string& which, const BleuStats& stats,
                    std::map<std::string, double>* metrics);

// The statistics AddBleuMetrics stored for `which`; false if any is missing.
bool BleuStatsFromMetrics(const std::map<std::string, double>& metrics, const std::string& which,
                          BleuStats* stats);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D2_SUMMARY_H_
