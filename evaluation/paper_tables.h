// The SoK paper's four result tables (issue 7 §4), built from a run's units
// (`effrobust tables RUN_DIR --paper`): Table 4 (the input-validation
// detector), D1 (early exit under DeepSloth-style attacks), D2 (captioners
// under NICGSlowDown) and D3 (detection + tracking under SlowTrack-style
// attacks), each with its defended, adaptive and after-AT rows.
//
// Conventions shared by the tables:
//   - Units of the same (model, attack, parameters, adaptive defense) are the
//     shards of one row group; their metrics are pooled with MetricPool
//     (evaluation/metric_pool.h): means weighted by each unit's "samples"
//     (D1, D2: inputs; D3: sequences, all of the same length) or, in
//     Table 4, by the detector's test_sources.
//   - A defended row reads the "<defense>." view of its units' metrics
//     (evaluation/defense_views.h). "JPEG" is block_jpeg where a victim's
//     units measured it, else jpeg; "smoothing" is nl_means, else median;
//     every other view (bit_depth, the runtime caps exit_cap, decode_cap,
//     nms_cap, and the unchosen jpeg / median) gets its own row labelled by
//     the defense and its parameters, e.g. "attack + exit cap (k=2)". A note
//     under the table names the defense and parameters behind "JPEG" and
//     "smoothing" (from the units' spec_json).
//   - Units whose spec_json holds "adaptive_defense" (attacked through that
//     transform with BPDA) give one row, "attack + JPEG (adaptive, BPDA)",
//     read from their view of that defense.
//   - A model whose registered metadata has a non-empty "adversarial" field
//     is adversarially trained: its rows' training column reads
//     "after AT (<that text>)", every other model's "standard".
//   - A cell with no measured data is "–"; a row whose view no unit of its
//     group holds is left out; a table without units says so in a note.
//     Nothing is estimated.
// Pure functions, thread-safe. Torch-free.
#ifndef EFFROBUST_EVALUATION_PAPER_TABLES_H_
#define EFFROBUST_EVALUATION_PAPER_TABLES_H_

#include <map>
#include <string>
#include <vector>

#include "results/index.h"
#include "results/render.h"

namespace effrobust {

// One paper table: its heading, the table, and footnote lines printed under
// it (which defenses "JPEG" and "smoothing" are, or that the run has no data
// for it).
struct PaperTable {
  std::string title;
  QueryResult table;
  std::vector<std::string> notes;
};

// Model name -> the "adversarial" text of its metadata (JSON or YAML), for
// the models that have a non-empty one. Metadata that does not parse counts
// as a standard model. Never throws.
std::map<std::string, std::string> AdversarialTraining(const std::vector<ModelRecord>& models);

// Table 4, the input-validation detector: one row per attack x victim x
// norm or threshold (params "norm", else "threshold", else "–") x the other
// parameters, over done units holding "input_detector." metrics. Columns:
// attack, victim, norm_or_threshold, params, test_sources, then plain, JPEG
// and smoothed test sets' clean (share of clean inputs passed), adv (share
// of adversarial inputs flagged) and mean rates, auc (plain), latency_ms
// (detector time per input). Metrics read: input_detector.{clean_rate,
// detection_rate, mean_rate}_{plain,jpeg,smoothed}, input_detector.auc_plain,
// input_detector.ms_per_input, weighted by input_detector.test_sources (the
// unit's samples where absent).
PaperTable PaperTable4(const std::vector<UnitRecord>& units);

// D1: one row per victim x setting over done early-exit units (those with
// efficacy_clean_rad5; the other D1 families have no efficacy and are left
// out: `effrobust tables` shows them). Per victim: "clean" (the clean attack
// units, else the clean side of its attack units), then per attack x
// parameters "attack", "attack + JPEG", "attack + smoothing", other
// defenses, adaptive rows; last "clean + <defense>" rows. Columns: victim,
// training, attack, params (besides the norm), norm, setting, samples,
// acc_rad5, acc_rad15 (dyn_<side>_acc_rad*), efficacy_rad5, efficacy_rad15
// (efficacy_<side>_rad*), with side "clean" on clean rows, else "adv".
// `adversarial`: AdversarialTraining() of the run's models.
PaperTable PaperD1Table(const std::vector<UnitRecord>& units,
                        const std::map<std::string, std::string>& adversarial);

// D2: one row per captioner (any model with mean_iloops) x setting, rows as
// in PaperD1Table. Columns: captioner, training, attack, params, norm,
// setting, samples, iloops_mean, iloops_max, ilatency_mean, ilatency_max
// (mean_iloops, max_iloops, mean_ilatency, max_ilatency: attack rows and
// clean rows from clean units; "–" on clean rows read from attack units),
// bleu4 (corpus BLEU-4 of the row's side, pooled from bleu_<side>_*).
PaperTable PaperD2Table(const std::vector<UnitRecord>& units,
                        const std::map<std::string, std::string>& adversarial);

// D3: per detector x confidence threshold tag (t25, t50, ...) the rows of
// PaperD1Table, "benign" for "clean"; a unit attacked at a "threshold"
// counts only at that tag, and a row appears only if a unit measured the
// tag. Columns: detector, training, attack, params, threshold, setting,
// sequences, tracks (T_tracks_<side>, held per frame), tracker_ms,
// total_ms (T_tracker_ms_<side>, T_total_ms_<side>, per sequence), mota
// (pooled counts under T_gt_<side>), map50 (T_ap50_gt_<side>).
PaperTable PaperD3Table(const std::vector<UnitRecord>& units,
                        const std::map<std::string, std::string>& adversarial);

// The four tables in paper order: Table 4, D1, D2, D3.
std::vector<PaperTable> PaperTables(const std::vector<UnitRecord>& units,
                                    const std::vector<ModelRecord>& models);

// Each table under its heading ("### title" in Markdown, a "# " comment line
// in CSV, "% " in LaTeX), rendered with RenderTable, its notes under it
// (paragraphs in Markdown, comment lines otherwise); tables separated by a
// blank line.
std::string RenderPaperTables(const std::vector<PaperTable>& tables, TableFormat format);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_PAPER_TABLES_H_
