// The D2 results table, shaped like the paper's NICGSlowDown table (model x
// norm -> I-Loops and I-Latency, mean and max, plus BLEU-4): one row per
// model x dataset x attack x parameters, aggregated over that group's done
// D2 units. Means are sample-weighted, maxima the largest unit maximum,
// BLEU-4 one corpus BLEU over the group (its statistics summed over the
// units). Torch-free.
#ifndef EFFROBUST_EVALUATION_D2_TABLE_H_
#define EFFROBUST_EVALUATION_D2_TABLE_H_

#include <vector>

#include "results/index.h"

namespace effrobust {

// Columns: model, dataset, attack, params, samples, iloops_mean, iloops_max,
// ilatency_mean, ilatency_max, steps_clean, steps_adv, bleu4_clean,
// bleu4_adv. Numbers formatted to 4 significant digits ("-" where
// undefined, e.g. latency disabled). Only units with D2 metrics
// (mean_iloops) are included; rows keep the order units come in.
QueryResult D2Table(const std::vector<UnitRecord>& units);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D2_TABLE_H_
