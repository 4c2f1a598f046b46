// Per-unit summary of D3 measurements (a grid detector, its NMS and a
// ByteTrack-style tracker run frame by frame over moving-item sequences),
// computed from a unit's rows. The worker sends it to rank 0, which stores
// it in SQLite; tests recompute it from the HDF5 rows. Pure functions,
// thread-safe.
//
// Row columns (one row per sequence x confidence threshold x frame, ordered
// by sequence, then threshold, then frame; every unit measures the clean and
// the attacked frames, "clean" / "adv", at each threshold of {0.25, 0.5,
// 0.75}; for the clean attack the two are identical):
//   int:  sample_index                      sequence index in the split
//         frame                             0 .. T-1
//         truth                             ground-truth objects in the frame
//         candidates_clean, candidates_adv  cells scoring >= threshold (before NMS)
//         boxes_clean, boxes_adv            boxes after NMS
//         tracks_clean, tracks_adv          tracks the tracker holds after the
//                                           frame: tracked + lost + unconfirmed
//         confirmed_clean, confirmed_adv    confirmed tracks output this frame
//   real: threshold                         the confidence threshold
//         network_clean_ms, network_adv_ms  the detector's forward pass
//         nms_clean_ms, nms_adv_ms          non-maximum suppression
//         tracker_clean_ms, tracker_adv_ms  the tracker's update
//         total_clean_ms, total_adv_ms      network + nms + tracker of the frame
//
// Metrics are per threshold, prefixed with its tag (ThresholdTag: t25, t50,
// t75). Per-frame counts are means over every frame of every sequence; times
// are per sequence (summed over its frames, then averaged over sequences),
// like the paper's SlowTrack table.
#ifndef EFFROBUST_EVALUATION_D3_SUMMARY_H_
#define EFFROBUST_EVALUATION_D3_SUMMARY_H_

#include <map>
#include <string>

#include "evaluation/mota.h"
#include "results/row_batch.h"

namespace effrobust {

// "t" + round(100 * threshold): 0.25 -> "t25", 0.5 -> "t50". Thresholds
// that round to the same tag share it. Throws ResultsError unless the
// threshold is finite and in [0, 1].
std::string ThresholdTag(double threshold);

// Summary metrics (names as stored in the SQLite metrics table):
//   sequences, samples                  distinct sample_index (samples is the
//                                       weight tables pool units by)
// and for each threshold tag T present, for w in clean, adv:
//   T_frames                            rows at that threshold
//   T_candidates_w, T_boxes_w, T_tracks_w
//                                       means per frame
//   T_tracks_max_w                      largest tracks_w of any frame
//   T_network_ms_w, T_nms_ms_w, T_tracker_ms_w, T_total_ms_w
//                                       time per sequence (sum over its
//                                       frames, mean over sequences)
//   T_tracks_ratio                      T_tracks_adv / T_tracks_clean
//   T_total_ratio                       T_total_ms_adv / T_total_ms_clean
// Ratios are NaN when the denominator is 0. Throws ResultsError naming the
// column if one is missing or holds text, or if a threshold is out of range.
//
// The executor adds, per tag T, accuracy that tables pool across units:
// AddMotaMetrics under the keys T_gt_clean, T_gt_adv (against the
// generator's ground truth) and T_pseudo_adv (the attacked run against the
// clean run's tracks); and directly T_ap50_gt_w, T_ap75_gt_w (detection AP
// at IoU 0.5 / 0.75 against ground truth), T_ap50_pseudo_adv,
// T_ap75_pseudo_adv (against the clean run's detections) and
// T_tracks_started_w (tracks started per sequence, mean over sequences),
// which tables pool as sample-weighted means.
std::map<std::string, double> SummarizeD3(const RowBatch& rows);

// Stores `r` as key_mota, key_motp, key_fn, key_fp, key_idsw, key_truth and
// key_matches, so tables can pool units into one MOTA:
// 1 - (sum FN + FP + IDSW) / sum truth.
void AddMotaMetrics(const std::string& key, const MotaResult& r,
                    std::map<std::string, double>* metrics);

// The counts AddMotaMetrics stored under `key` (frames is 0: not stored);
// false, leaving *r alone, if any is missing or not finite.
bool MotaFromMetrics(const std::map<std::string, double>& metrics, const std::string& key,
                     MotaResult* r);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_D3_SUMMARY_H_
