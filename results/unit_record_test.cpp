#include "results/unit_record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"

namespace effrobust {
namespace {

UnitPlan Plan() {
  UnitPlan p;
  p.unit_id = "0123456789abcdef";
  p.model = "sdn \"tiny\"";
  p.model_path = "runs/models/sdn-fmnist.pt";
  p.dataset = "fashion-mnist";
  p.split = "test";
  p.sample_begin = 9000;
  p.sample_end = 9016;
  p.attack = "deepsloth";
  p.params_json = "{\"eps\":0.0313725,\"iterations\":30}";
  p.seed = 9007199254740991LL;  // the largest seed a spec allows
  p.spec_json = "{\"attack\":\"deepsloth\",\"line\":\"a\\nb\\t\\u0001\"}";
  return p;
}

UnitCompletion Completion() {
  UnitCompletion c;
  c.unit_id = "0123456789abcdef";
  c.run_id = 12;
  c.worker_rank = 3;
  c.host = "node-7.cluster";
  c.started_at = 1764095400.123456;
  c.finished_at = 1764095412.987654;
  c.wall_seconds = 12.864198;
  c.shard_file = "shards/run0012-rank003.h5";
  c.row_begin = 4096;
  c.row_end = 4112;
  c.device = "cuda:1";
  c.device_name = "NVIDIA H100 80GB HBM3";
  c.metrics = {{"clean_acc", 0.875},
               {"efficacy_drop_rad5", 1.0 / 3.0},
               {"samples", 16},
               {"mean_latency_adv_ms_rad5", std::numeric_limits<double>::quiet_NaN()},
               {"flops_ratio_rad15", std::numeric_limits<double>::infinity()},
               {"neg", -std::numeric_limits<double>::infinity()},
               {"tiny", 5e-324}};
  return c;
}

TEST(UnitRecordTest, RoundTripsEveryPlanAndCompletionField) {
  const UnitPlan p = Plan();
  const UnitCompletion c = Completion();
  const DecodedUnitRecord d = DecodeUnitRecord(EncodeUnitRecord(p, c));
  EXPECT_EQ(d.plan.unit_id, p.unit_id);
  EXPECT_EQ(d.plan.model, p.model);
  EXPECT_EQ(d.plan.model_path, p.model_path);
  EXPECT_EQ(d.plan.dataset, p.dataset);
  EXPECT_EQ(d.plan.split, p.split);
  EXPECT_EQ(d.plan.sample_begin, p.sample_begin);
  EXPECT_EQ(d.plan.sample_end, p.sample_end);
  EXPECT_EQ(d.plan.attack, p.attack);
  EXPECT_EQ(d.plan.params_json, p.params_json);
  EXPECT_EQ(d.plan.seed, p.seed);
  EXPECT_EQ(d.plan.spec_json, p.spec_json);
  EXPECT_EQ(d.completion.unit_id, c.unit_id);
  EXPECT_EQ(d.completion.run_id, c.run_id);
  EXPECT_EQ(d.completion.worker_rank, c.worker_rank);
  EXPECT_EQ(d.completion.host, c.host);
  EXPECT_EQ(d.completion.started_at, c.started_at);
  EXPECT_EQ(d.completion.finished_at, c.finished_at);
  EXPECT_EQ(d.completion.wall_seconds, c.wall_seconds);
  EXPECT_EQ(d.completion.shard_file, c.shard_file);
  EXPECT_EQ(d.completion.row_begin, c.row_begin);
  EXPECT_EQ(d.completion.row_end, c.row_end);
  EXPECT_EQ(d.completion.device, c.device);
  EXPECT_EQ(d.completion.device_name, c.device_name);
  ASSERT_EQ(d.completion.metrics.size(), c.metrics.size());
  for (const auto& [name, value] : c.metrics) {
    ASSERT_TRUE(d.completion.metrics.count(name)) << name;
    const double got = d.completion.metrics.at(name);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(got)) << name;
    } else {
      EXPECT_EQ(got, value) << name;
    }
  }
}

TEST(UnitRecordTest, TextIsJsonWithoutBareNonFiniteNumbers) {
  const std::string text = EncodeUnitRecord(Plan(), Completion());
  EXPECT_EQ(text.front(), '{');
  EXPECT_EQ(text.back(), '}');
  EXPECT_NE(text.find("\"format\":\"effrobust-unit-1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"metric.mean_latency_adv_ms_rad5\":\"nan\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"metric.flops_ratio_rad15\":\"inf\""), std::string::npos) << text;
  EXPECT_EQ(text.find(":nan"), std::string::npos) << text;
  EXPECT_EQ(text.find(":inf"), std::string::npos) << text;
}

TEST(UnitRecordTest, EncodeRejectsMismatchedOrEmptyIds) {
  UnitCompletion c = Completion();
  c.unit_id = "ffffffffffffffff";
  EXPECT_THROW(EncodeUnitRecord(Plan(), c), ResultsError);
  UnitPlan p = Plan();
  p.unit_id = "";
  c.unit_id = "";
  EXPECT_THROW(EncodeUnitRecord(p, c), ResultsError);
}

TEST(UnitRecordTest, DecodeIgnoresUnknownKeys) {
  std::string text = EncodeUnitRecord(Plan(), Completion());
  text.insert(1, "\"zz_added_later\":\"x\",");
  EXPECT_EQ(DecodeUnitRecord(text).plan.unit_id, "0123456789abcdef");
}

struct BadRecord {
  std::string name;
  std::string from;  // replaced in a valid record ...
  std::string to;    // ... by this
  std::string message;
};

TEST(UnitRecordTest, DecodeNamesTheProblem) {
  const std::string good = EncodeUnitRecord(Plan(), Completion());
  const std::vector<BadRecord> cases = {
      {"missing key", "\"row_end\":4112,", "", "key 'row_end' is missing"},
      {"text for number", "\"row_end\":4112", "\"row_end\":\"4112\"", "key 'row_end' is text"},
      {"number for text", "\"host\":\"node-7.cluster\"", "\"host\":7", "key 'host' is a number"},
      {"fraction for integer", "\"row_end\":4112", "\"row_end\":4112.5", "not an integer"},
      {"bad metric text", "\"metric.flops_ratio_rad15\":\"inf\"",
       "\"metric.flops_ratio_rad15\":\"big\"", "not a number"},
      {"other format", "effrobust-unit-1", "effrobust-unit-9", "format 'effrobust-unit-9'"},
      {"not json", "{", "[", "not a flat JSON object"},
  };
  for (const BadRecord& c : cases) {
    SCOPED_TRACE(c.name);
    std::string text = good;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, c.from.size(), c.to);
    try {
      DecodeUnitRecord(text);
      ADD_FAILURE() << "decoded " << text;
    } catch (const ResultsError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace effrobust
