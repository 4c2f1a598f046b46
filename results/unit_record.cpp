// Unit completion records (see results/unit_record.h).
#include "results/unit_record.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "common/value.h"

namespace effrobust {
namespace {

const std::string kMetricPrefix = "metric.";

// Largest integer a double holds exactly (2^53).
constexpr double kMaxExactInteger = 9007199254740992.0;

Scalar MetricValue(double v) {
  if (std::isfinite(v)) return v;
  return std::string(FormatNumber(v));  // "nan", "inf", "-inf"
}

class Reader {
 public:
  Reader(const ParamMap& m, std::string where) : m_(m), where_(std::move(where)) {}

  std::string Text(const std::string& key) const {
    const Scalar& v = Find(key);
    if (!std::holds_alternative<std::string>(v)) Fail(key, "is a number, expected text");
    return std::get<std::string>(v);
  }

  double Real(const std::string& key) const {
    const Scalar& v = Find(key);
    if (!std::holds_alternative<double>(v)) Fail(key, "is text, expected a number");
    return std::get<double>(v);
  }

  int64_t Int(const std::string& key) const {
    const double v = Real(key);
    if (v != std::floor(v) || std::fabs(v) > kMaxExactInteger) {
      Fail(key, "= " + FormatNumber(v) + " is not an integer");
    }
    return static_cast<int64_t>(v);
  }

 private:
  const Scalar& Find(const std::string& key) const {
    auto it = m_.find(key);
    if (it == m_.end()) Fail(key, "is missing");
    return it->second;
  }

  [[noreturn]] void Fail(const std::string& key, const std::string& what) const {
    throw ResultsError(where_ + ": key '" + key + "' " + what);
  }

  const ParamMap& m_;
  std::string where_;
};

}  // namespace

std::string EncodeUnitRecord(const UnitPlan& plan, const UnitCompletion& completion) {
  if (plan.unit_id.empty()) throw ResultsError("unit record: empty unit id");
  if (plan.unit_id != completion.unit_id) {
    throw ResultsError("unit record: plan is for unit '" + plan.unit_id +
                       "' but the completion for '" + completion.unit_id + "'");
  }
  ParamMap m;
  m["format"] = std::string(kUnitRecordFormat);
  m["unit_id"] = plan.unit_id;
  m["model"] = plan.model;
  m["model_path"] = plan.model_path;
  m["dataset"] = plan.dataset;
  m["split"] = plan.split;
  m["sample_begin"] = static_cast<double>(plan.sample_begin);
  m["sample_end"] = static_cast<double>(plan.sample_end);
  m["attack"] = plan.attack;
  m["params_json"] = plan.params_json;
  m["seed"] = static_cast<double>(plan.seed);
  m["spec_json"] = plan.spec_json;
  m["run_id"] = static_cast<double>(completion.run_id);
  m["worker_rank"] = static_cast<double>(completion.worker_rank);
  m["host"] = completion.host;
  m["started_at"] = completion.started_at;
  m["finished_at"] = completion.finished_at;
  m["wall_seconds"] = completion.wall_seconds;
  m["shard_file"] = completion.shard_file;
  m["row_begin"] = static_cast<double>(completion.row_begin);
  m["row_end"] = static_cast<double>(completion.row_end);
  m["device"] = completion.device;
  m["device_name"] = completion.device_name;
  for (const auto& [name, value] : completion.metrics) {
    m[kMetricPrefix + name] = MetricValue(value);
  }
  return CanonicalJson(m);
}

DecodedUnitRecord DecodeUnitRecord(const std::string& text) {
  ParamMap m;
  try {
    m = ParseFlatJson(text);
  } catch (const Error& e) {
    throw ResultsError(std::string("unit record is not a flat JSON object: ") + e.what());
  }
  const std::string id = TextField(m, "unit_id");
  const Reader r(m, "unit record" + (id.empty() ? std::string() : " of unit '" + id + "'"));
  const std::string format = r.Text("format");
  if (format != kUnitRecordFormat) {
    throw ResultsError("unit record of unit '" + id + "': format '" + format +
                       "' is not supported (this program reads '" + kUnitRecordFormat + "')");
  }
  DecodedUnitRecord d;
  UnitPlan& p = d.plan;
  p.unit_id = r.Text("unit_id");
  p.model = r.Text("model");
  p.model_path = r.Text("model_path");
  p.dataset = r.Text("dataset");
  p.split = r.Text("split");
  p.sample_begin = r.Int("sample_begin");
  p.sample_end = r.Int("sample_end");
  p.attack = r.Text("attack");
  p.params_json = r.Text("params_json");
  p.seed = r.Int("seed");
  p.spec_json = r.Text("spec_json");
  UnitCompletion& c = d.completion;
  c.unit_id = p.unit_id;
  c.run_id = r.Int("run_id");
  c.worker_rank = static_cast<int>(r.Int("worker_rank"));
  c.host = r.Text("host");
  c.started_at = r.Real("started_at");
  c.finished_at = r.Real("finished_at");
  c.wall_seconds = r.Real("wall_seconds");
  c.shard_file = r.Text("shard_file");
  c.row_begin = r.Int("row_begin");
  c.row_end = r.Int("row_end");
  c.device = r.Text("device");
  c.device_name = r.Text("device_name");
  for (const auto& [key, value] : m) {
    if (key.compare(0, kMetricPrefix.size(), kMetricPrefix) != 0) continue;
    const std::string name = key.substr(kMetricPrefix.size());
    if (std::holds_alternative<double>(value)) {
      c.metrics[name] = std::get<double>(value);
      continue;
    }
    const std::string& s = std::get<std::string>(value);
    if (s != "nan" && s != "inf" && s != "-inf") {
      throw ResultsError("unit record of unit '" + id + "': key '" + key + "' = '" + s +
                         "' is not a number (allowed text: nan, inf, -inf)");
    }
    c.metrics[name] = std::strtod(s.c_str(), nullptr);
  }
  return d;
}

}  // namespace effrobust
