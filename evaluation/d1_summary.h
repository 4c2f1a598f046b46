// Per-unit summary of D1 (early-exit) measurements, computed from a unit's
// rows. The worker sends it to rank 0, which stores it in SQLite; tests
// recompute it from the HDF5 rows. Pure functions, thread-safe.
//
// Row columns (one row per sample; <rad> is "rad5" or "rad15"):
//   int:  sample_index, label, pred_clean, pred_adv        (final exit)
//         exit_clean_<rad>, exit_adv_<rad>                  (exit taken)
//         eepred_clean_<rad>, eepred_adv_<rad>              (early-exit prediction)
//   real: flops_clean_<rad>, flops_adv_<rad>                (FLOPs spent)
//         latency_clean_ms_<rad>, latency_adv_ms_<rad>      (NaN if disabled)
//         linf, l2                                          (perturbation norms)
#ifndef EFFROBUST_EVALUATION_D1_SUMMARY_H_
#define EFFROBUST_EVALUATION_D1_SUMMARY_H_

#include <map>
#include <string>
#include <vector>

#include "results/row_batch.h"

namespace effrobust {

// The RAD keys every D1 unit reports, with their relative accuracy drop.
const std::vector<std::pair<std::string, double>>& RadLevels();

// Summary metrics (names as stored in the SQLite metrics table):
//   samples, clean_acc, adv_acc, mean_linf, max_linf, mean_l2, and per rad:
//   ee_clean_acc_<rad>, ee_adv_acc_<rad>, mean_exit_clean_<rad>,
//   mean_exit_adv_<rad>, efficacy_clean_<rad>, efficacy_adv_<rad>,
//   efficacy_drop_<rad> (1 - adv/clean), flops_ratio_<rad> (mean adv /
//   mean clean), latency_ratio_<rad> (mean adv / mean clean; NaN without
//   latency), recovered_flops_<rad>, mean_flops_{clean,adv}_<rad>,
//   mean_latency_{clean,adv}_ms_<rad>.
// `exit_flops` are the model's cumulative FLOPs per exit (last = full).
// Throws ResultsError if a column is missing.
std::map<std::string, double> SummarizeD1(const RowBatch& rows,
                                          const std::vector<double>& exit_flops);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D1_SUMMARY_H_
