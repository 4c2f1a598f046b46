// Pooling of the metrics of several done units (the shards of one table row)
// into one value per metric, the way every result table pools: means
// weighted by each unit's "samples" metric (efficacy, accuracy and per-input
// means are linear in the samples), maxima the largest unit maximum, BLEU-4
// one corpus score over the summed statistics (evaluation/d2_summary.h) and
// MOTA one CLEAR MOT score over the summed counts (evaluation/d3_summary.h).
// Not thread-safe for concurrent Add; const accessors may run concurrently.
#ifndef EFFROBUST_EVALUATION_METRIC_POOL_H_
#define EFFROBUST_EVALUATION_METRIC_POOL_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace effrobust {

class MetricPool {
 public:
  // Adds one unit's metrics (copied), weighted by its "samples" metric
  // (0 when absent).
  void Add(const std::map<std::string, double>& metrics);

  // True when nothing was added.
  bool empty() const { return units_.empty(); }

  // The summed weight ("samples") of the added units.
  double n() const { return n_; }

  // Sample-weighted mean of `k` over the units where it is finite; NaN when
  // no unit with positive weight has it.
  double Mean(const std::string& k) const;

  // Largest finite `k` of any unit; NaN when some unit with positive weight
  // lacks a finite value (e.g. latency disabled in one shard) or none has it.
  double Max(const std::string& k) const;

  // Corpus BLEU-4 of `which` ("clean", "adv") over every unit's summed
  // statistics; NaN unless every unit stored them (AddBleuMetrics).
  double Bleu(const std::string& which) const;

  // MOTA of the counts AddMotaMetrics stored under `key`, summed over the
  // units: 1 - (FN + FP + IDSW) / truth; NaN unless every unit has the
  // counts and the summed truth is above 0.
  double Mota(const std::string& key) const;

 private:
  double n_ = 0;
  std::vector<std::pair<double, std::map<std::string, double>>> units_;  // weight, metrics
};

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_METRIC_POOL_H_
