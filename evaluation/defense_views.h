// Defended views of a unit's measurements (issue 7 §1). A unit that lists
// defenses measures its clean and adversarial inputs once undefended and
// once through each defense; each defended measurement is a "view" with
// the same columns and metrics as the undefended one, stored beside it
// under the prefix "<defense>." (e.g. column "jpeg.flops_adv_rad5", metric
// "nl_means.dyn_adv_acc_rad5"). A view also has the columns
// defense_clean_ms / defense_adv_ms (time the defense took per input, NaN
// for runtime caps, which cost nothing of their own) and the metric
// mean_defense_ms. Columns shared by every view (sample_index, label,
// sequence and frame indices) are stored once, unprefixed. Pure functions,
// thread-safe.
#ifndef EFFROBUST_EVALUATION_DEFENSE_VIEWS_H_
#define EFFROBUST_EVALUATION_DEFENSE_VIEWS_H_

#include <map>
#include <set>
#include <string>

#include "results/row_batch.h"

namespace effrobust {

// "<defense>." ("" for "none").
std::string DefenseViewPrefix(const std::string& defense);

// Appends every column of `from` whose name is not in `skip` to `to`,
// renamed prefix + name. Throws ResultsError if a renamed column already
// exists in `to` or the row counts differ.
void AppendColumns(const RowBatch& from, const std::string& prefix,
                   const std::set<std::string>& skip, RowBatch* to);

// The view of `defense` out of a unit's rows: its prefixed columns with the
// prefix removed, plus the shared columns named in `shared` (those present);
// for "none" every unprefixed column. Empty if the unit has no such view.
RowBatch ExtractView(const RowBatch& rows, const std::string& defense,
                     const std::set<std::string>& shared);

// Adds the view's defense timing columns (ms per input; may be NaN) and
// returns mean_defense_ms (the mean over clean and adversarial inputs,
// NaN if all are NaN) for the view's metrics.
double AddDefenseTiming(const std::vector<double>& clean_ms, const std::vector<double>& adv_ms,
                        RowBatch* view);

// Adds `view_metrics` to `metrics` renamed DefenseViewPrefix(defense) + name.
void AddViewMetrics(const std::map<std::string, double>& view_metrics, const std::string& defense,
                    std::map<std::string, double>* metrics);

// The metrics of one view out of a unit's metrics, with the prefix removed;
// for "none" the unprefixed (undefended) ones. Empty if the unit has no
// such view.
std::map<std::string, double> ViewMetrics(const std::map<std::string, double>& metrics,
                                          const std::string& defense);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_DEFENSE_VIEWS_H_
