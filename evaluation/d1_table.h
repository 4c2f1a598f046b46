// The D1 results table (the paper's DeepSloth table): one row per model x
// dataset x attack x parameters, aggregated over that group's done units
// (sample-weighted: efficacy is linear in the exit distribution, FLOPs and
// latency ratios are ratios of pooled means). Torch-free.
#ifndef EFFROBUST_EVALUATION_D1_TABLE_H_
#define EFFROBUST_EVALUATION_D1_TABLE_H_

#include <vector>

#include "results/index.h"

namespace effrobust {

// Columns: model, dataset, attack, params, samples, clean_acc, adv_acc,
// eff_clean_rad5, eff_adv_rad5, eff_drop_rad5, (same for rad15),
// flops_ratio_rad5, flops_ratio_rad15, latency_ratio_rad5,
// latency_ratio_rad15. Numbers formatted to 4 significant digits
// ("-" where undefined, e.g. latency disabled).
// Only units with early-exit efficacy metrics are included.
QueryResult D1Table(const std::vector<UnitRecord>& units);

// The cost of dynamic inference for every D1 family: one row per model x
// dataset x operating point x attack x parameters (sample-weighted pools).
// Columns: model, dataset, point ("-" for single-behaviour families),
// attack, params, samples, clean_acc, adv_acc (final classifier), metric
// (the family's own: exit, blocks_run, token_depth), metric_clean,
// metric_adv, metric_change (adv/clean - 1), flops_ratio, recovered_flops
// ((adv - clean) / (full - clean)), energy_ratio, sponge_clean, sponge_adv
// (energy / worst-case energy), density_clean, density_adv, latency_ratio.
QueryResult D1CostTable(const std::vector<UnitRecord>& units);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D1_TABLE_H_
