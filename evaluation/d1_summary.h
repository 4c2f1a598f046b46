// Per-unit summary of D1 measurements (every dynamic-computation family),
// computed from a unit's rows. The worker sends it to rank 0, which stores
// it in SQLite; tests recompute it from the HDF5 rows. Pure functions,
// thread-safe.
//
// Row columns (one row per sample). <s> is the operating-point suffix:
// "_rad5"/"_rad15" for early exit, "" for families with one behaviour;
// <metric> is the family's metric ("exit", "blocks_run", "token_depth").
//   int:  sample_index, label, pred_clean, pred_adv     (final classifier, all parts on)
//         dynpred_clean<s>, dynpred_adv<s>               (prediction of dynamic inference)
//         exit_clean<s>, exit_adv<s>                     (early exit: the exit taken)
//   real: <metric>_clean<s>, <metric>_adv<s>             (other families)
//         flops_clean<s>, flops_adv<s>                   (FLOPs of the executed path)
//         energy_clean_pj<s>, energy_adv_pj<s>           (energy model, zero skipping)
//         energy_worst_clean_pj<s>, energy_worst_adv_pj<s> (energy model, no skipping)
//         density_clean<s>, density_adv<s>               (non-zero / all activations written)
//         latency_clean_ms<s>, latency_adv_ms<s>         (NaN if disabled)
//         linf, l2                                       (perturbation norms)
#ifndef EFFROBUST_EVALUATION_D1_SUMMARY_H_
#define EFFROBUST_EVALUATION_D1_SUMMARY_H_

#include <map>
#include <string>
#include <vector>

#include "results/row_batch.h"

namespace effrobust {

// The RAD keys every early-exit unit reports, with their relative accuracy
// drop.
const std::vector<std::pair<std::string, double>>& RadLevels();

// What the summary needs to know about the unit's model.
struct D1Layout {
  std::string metric = "exit";       // the family's metric column stem
  std::vector<std::string> points;   // operating points ("" = no suffix)
  double full_flops = 0;             // FLOPs with every dynamic part executed
  std::vector<double> exit_flops;    // early exit only: cumulative FLOPs per exit
};

// Layout of an early-exit model with cumulative `exit_flops` (points rad5,
// rad15; metric "exit").
D1Layout EarlyExitLayout(const std::vector<double>& exit_flops);

// Column / metric suffix of an operating point: "" or "_" + point.
std::string PointSuffix(const std::string& point);

// Summary metrics (names as stored in the SQLite metrics table):
//   samples, clean_acc, adv_acc, mean_linf, max_linf, mean_l2, full_flops
//   (every dynamic part executed), and per
//   point suffix <s>:
//   dyn_clean_acc<s>, dyn_adv_acc<s>, mean_<metric>_clean<s>,
//   mean_<metric>_adv<s>, mean_flops_{clean,adv}<s>, flops_ratio<s>
//   (mean adv / mean clean), recovered_flops<s> ((adv - clean) / (full -
//   clean)), mean_energy_{clean,adv}_pj<s>, energy_ratio<s>,
//   sponge_score_{clean,adv}<s> (mean energy / worst-case energy),
//   density_{clean,adv}<s>, mean_latency_{clean,adv}_ms<s>,
//   latency_ratio<s> (NaN without latency); early exit also
//   efficacy_clean<s>, efficacy_adv<s>, efficacy_drop<s> (1 - adv/clean).
// Throws ResultsError if a column is missing.
std::map<std::string, double> SummarizeD1(const RowBatch& rows, const D1Layout& layout);

// Values of an int or real column as doubles. Throws ResultsError if absent
// or a text column.
std::vector<double> ColumnValues(const RowBatch& rows, const std::string& name);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D1_SUMMARY_H_
