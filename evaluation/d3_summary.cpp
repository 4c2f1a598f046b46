#include "evaluation/d3_summary.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "common/error.h"
#include "common/value.h"
#include "evaluation/d1_summary.h"

namespace effrobust {
namespace {

constexpr const char* kWhich[] = {"clean", "adv"};
constexpr const char* kCounts[] = {"candidates", "boxes", "tracks"};
constexpr const char* kTimes[] = {"network", "nms", "tracker", "total"};

// a / b; NaN when b is 0.
double Ratio(double a, double b) { return b == 0 ? std::nan("") : a / b; }

// One threshold's rows: per-frame count sums and per-sequence time sums.
struct TagAccumulator {
  double frames = 0;
  std::map<std::string, double> count_sum;                    // "tracks_adv" -> sum over frames
  std::map<std::string, double> count_max;                    // "tracks_adv" -> largest frame value
  std::map<std::string, std::map<int64_t, double>> time_sum;  // "nms_adv" -> sequence -> ms
};

}  // namespace

std::string ThresholdTag(double threshold) {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw ResultsError("D3 confidence threshold " + FormatNumber(threshold) +
                       " has no tag (allowed: 0 <= threshold <= 1)");
  }
  return "t" + std::to_string(std::lround(100 * threshold));
}

std::map<std::string, double> SummarizeD3(const RowBatch& rows) {
  const size_t n = rows.rows();
  std::vector<int64_t> sequence;
  for (double v : ColumnValues(rows, "sample_index")) sequence.push_back(std::llround(v));
  const std::vector<double> threshold = ColumnValues(rows, "threshold");
  std::map<std::string, std::vector<double>> column;
  for (const std::string w : kWhich) {
    for (const std::string c : kCounts) column[c + "_" + w] = ColumnValues(rows, c + "_" + w);
    for (const std::string t : kTimes) {
      column[t + "_" + w] = ColumnValues(rows, t + "_" + w + "_ms");
    }
  }
  std::map<std::string, TagAccumulator> tags;
  for (size_t i = 0; i < n; ++i) {
    if (!(threshold[i] >= 0 && threshold[i] <= 1)) {
      throw ResultsError("row batch: column 'threshold' row " + std::to_string(i) + " holds " +
                         FormatNumber(threshold[i]) + " (allowed: 0 <= threshold <= 1)");
    }
    TagAccumulator& a = tags[ThresholdTag(threshold[i])];
    a.frames += 1;
    for (const std::string w : kWhich) {
      for (const std::string c : kCounts) {
        const std::string k = c + "_" + w;
        const double v = column[k][i];
        a.count_sum[k] += v;
        auto it = a.count_max.find(k);
        a.count_max[k] = it == a.count_max.end() ? v : std::max(it->second, v);
      }
      for (const std::string t : kTimes) {
        const std::string k = t + "_" + w;
        a.time_sum[k][sequence[i]] += column[k][i];
      }
    }
  }
  std::map<std::string, double> m;
  const double sequences =
      static_cast<double>(std::set<int64_t>(sequence.begin(), sequence.end()).size());
  m["sequences"] = sequences;
  m["samples"] = sequences;
  for (const auto& [tag, a] : tags) {
    const std::string p = tag + "_";
    m[p + "frames"] = a.frames;
    for (const std::string w : kWhich) {
      for (const std::string c : kCounts) {
        m[p + c + "_" + w] = a.count_sum.at(c + "_" + w) / a.frames;
      }
      m[p + "tracks_max_" + w] = a.count_max.at("tracks_" + w);
      for (const std::string t : kTimes) {
        const auto& per_sequence = a.time_sum.at(t + "_" + w);
        double s = 0;
        for (const auto& [seq, ms] : per_sequence) s += ms;
        m[p + t + "_ms_" + w] = s / static_cast<double>(per_sequence.size());
      }
    }
    m[p + "tracks_ratio"] = Ratio(m[p + "tracks_adv"], m[p + "tracks_clean"]);
    m[p + "total_ratio"] = Ratio(m[p + "total_ms_adv"], m[p + "total_ms_clean"]);
  }
  return m;
}

void AddMotaMetrics(const std::string& key, const MotaResult& r,
                    std::map<std::string, double>* metrics) {
  auto& m = *metrics;
  const std::string p = key + "_";
  m[p + "mota"] = r.mota;
  m[p + "motp"] = r.motp;
  m[p + "fn"] = static_cast<double>(r.false_negatives);
  m[p + "fp"] = static_cast<double>(r.false_positives);
  m[p + "idsw"] = static_cast<double>(r.id_switches);
  m[p + "truth"] = static_cast<double>(r.truth);
  m[p + "matches"] = static_cast<double>(r.matches);
}

bool MotaFromMetrics(const std::map<std::string, double>& metrics, const std::string& key,
                     MotaResult* r) {
  auto get = [&](const std::string& name, double* out) {
    auto it = metrics.find(key + "_" + name);
    if (it == metrics.end() || !std::isfinite(it->second)) return false;
    *out = it->second;
    return true;
  };
  double mota, motp, fn, fp, idsw, truth, matches;
  if (!get("mota", &mota) || !get("motp", &motp) || !get("fn", &fn) || !get("fp", &fp) ||
      !get("idsw", &idsw) || !get("truth", &truth) || !get("matches", &matches)) {
    return false;
  }
  MotaResult out;
  out.mota = mota;
  out.motp = motp;
  out.false_negatives = std::llround(fn);
  out.false_positives = std::llround(fp);
  out.id_switches = std::llround(idsw);
  out.truth = std::llround(truth);
  out.matches = std::llround(matches);
  *r = out;
  return true;
}

}  // namespace effrobust
