// A unit's completion record: its plan and what the worker reported, as one
// flat JSON object. Workers store one per finished unit in their shard
// (ShardWriter::AppendUnitRecord), after the unit's rows, so that the index
// can be rebuilt from the shards alone (`effrobust index rebuild`).
//
// Text (keys sorted, numbers in shortest round-trip form):
//   {"attack":"pgd","dataset":"fashion-mnist","device":"","device_name":"",
//    "finished_at":1764095401.25,"format":"effrobust-unit-1","host":"node1",
//    "metric.clean_acc":0.875,"metric.mean_latency_adv_ms_rad5":"nan",...,
//    "model":"sdn","model_path":"runs/models/sdn.pt","params_json":"{...}",
//    "row_begin":0,"row_end":16,"run_id":1,"sample_begin":0,"sample_end":16,
//    "seed":11,"shard_file":"shards/run0001-rank001.h5","spec_json":"{...}",
//    "split":"test","started_at":1764095400.5,"unit_id":"3fa2c1d0...",
//    "wall_seconds":0.75,"worker_rank":1}
// Every UnitPlan and UnitCompletion field is a key; metrics are
// "metric.<name>", non-finite values as the strings "nan", "inf", "-inf".
// Unknown keys are ignored when decoding (later versions may add fields).
//
// Pure functions, thread-safe. Torch-free.
#ifndef EFFROBUST_RESULTS_UNIT_RECORD_H_
#define EFFROBUST_RESULTS_UNIT_RECORD_H_

#include <string>

#include "results/index.h"

namespace effrobust {

// Value of the record's "format" key.
constexpr char kUnitRecordFormat[] = "effrobust-unit-1";

struct DecodedUnitRecord {
  UnitPlan plan;
  UnitCompletion completion;
};

// The record text of a finished unit. Throws ResultsError if the plan's and
// the completion's unit ids differ or the id is empty.
std::string EncodeUnitRecord(const UnitPlan& plan, const UnitCompletion& completion);

// Parses a record. Throws ResultsError naming the key on malformed text, a
// missing key, a wrong type or an unknown format.
DecodedUnitRecord DecodeUnitRecord(const std::string& text);

}  // namespace effrobust

#endif  // EFFROBUST_RESULTS_UNIT_RECORD_H_
