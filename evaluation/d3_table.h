// The D3 results table, shaped like the paper's SlowTrack table
// (confidence threshold x {benign, attack} -> tracks, tracker time, total
// time, MOTA, mAP), pooled over done units whose metrics hold D3 summaries
// (evaluation/d3_summary.h). Means are sample-weighted (weight: a unit's
// `samples`, its sequences), maxima the largest unit maximum, MOTA one
// CLEAR MOT score over the pooled counts. Torch-free.
#ifndef EFFROBUST_EVALUATION_D3_TABLE_H_
#define EFFROBUST_EVALUATION_D3_TABLE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "results/index.h"

namespace effrobust {

// Rows, per (model, dataset) in the order units come in, per threshold tag
// the units hold (t25, t50, t75, ...) in threshold order:
//   - one "benign" row pooled from the units with attack "clean", from their
//     clean measurements (params: the distinct parameters of those units,
//     "-" when empty);
//   - one row per (attack, params) of the other units, in the order they
//     come in, from their adversarial measurements. A unit whose params hold
//     a numeric "threshold" in [0, 1] (the threshold it was attacked at)
//     counts only at that threshold's tag; one without counts at every tag.
// A row appears only if some unit counts at its tag and holds that tag's
// metrics (a unit attacked at a threshold it did not measure appears in no
// row).
// Columns: model, dataset, threshold, setting ("benign" or the attack),
// params, sequences, tracks (mean held per frame), tracks_max, tracks_started
// (per sequence), tracker_ms, total_ms (per sequence), mota (against ground
// truth), mota_pseudo (against the clean run; attacks only), ap50, ap75
// (against ground truth), ap50_pseudo (against the clean run; attacks only),
// tracks_x, total_x (attacks only: pooled adversarial mean / pooled clean
// mean of the same units). MOTA = 1 - (FN + FP + IDSW) / ground-truth
// objects summed over the units; undefined unless every unit has the counts
// and the objects sum above 0. Numbers to 4 significant digits, "-" where
// undefined.
QueryResult D3Table(const std::vector<UnitRecord>& units);

// The threshold numbers of the tags a unit's metrics hold ("t25_frames" ->
// 25); empty for a unit without D3 metrics.
std::set<int> D3UnitTags(const std::map<std::string, double>& metrics);

// The tag number of the "threshold" parameter of a unit's params_json, if it
// holds one that is a number (or numeric text) in [0, 1]; nullopt otherwise
// (also for params that do not parse).
std::optional<int> D3AttackedTag(const std::string& params_json);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D3_TABLE_H_
