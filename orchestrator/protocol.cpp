#include "orchestrator/protocol.h"

#include <cstdio>

#include "common/error.h"

namespace effrobust {
Message ReadyMessage(const std::string& held_model) {
  return {kTagReady, CanonicalJson({{"held_model", held_model}})};
}

std::string ParseReady(const Message& m) { return TextField(ParseFlatJson(m.payload), "held_model"); }

const char* UnitOutcomeName(UnitOutcome o) {
  switch (o) {
    case UnitOutcome::kDone:
      return "done";
    case UnitOutcome::kFailed:
      return "failed";
    case UnitOutcome::kInterrupted:
      return "interrupted";
  }
  return "?";
}

namespace {

UnitOutcome ParseOutcome(const std::string& s) {
  for (UnitOutcome o : {UnitOutcome::kDone, UnitOutcome::kFailed, UnitOutcome::kInterrupted}) {
    if (s == UnitOutcomeName(o)) return o;
  }
  throw OrchestratorError("result message has unknown outcome '" + s + "'");
}

}  // namespace

Message AssignMessage(const WorkUnit& unit, int64_t token, const RunOptions& o) {
  ParamMap m = UnitToMap(unit);
  m["lease.token"] = static_cast<double>(token);
  m["run.heartbeat_s"] = static_cast<double>(o.heartbeat_s);
  m["run.drain_grace_s"] = static_cast<double>(o.drain_grace_s);
  m["run.id"] = static_cast<double>(o.run_id);
  m["run.dir"] = o.run_dir;
  m["run.experiment"] = o.experiment;
  m["run.config_hash"] = o.config_hash;
  m["run.device"] = o.device;
  m["run.threads"] = static_cast<double>(o.threads);
  m["run.latency_repeats"] = static_cast<double>(o.measure.latency_repeats);
  m["run.latency_warmup"] = static_cast<double>(o.measure.latency_warmup);
  m["run.store_adversarial"] = o.measure.store_adversarial ? 1.0 : 0.0;
  m["run.batch_size"] = static_cast<double>(o.measure.batch_size);
  return {kTagAssign, CanonicalJson(m)};
}

void ParseAssign(const Message& msg, WorkUnit* unit, int64_t* token, RunOptions* o) {
  ParamMap m = ParseFlatJson(msg.payload);
  *unit = UnitFromMap(m);
  *token = static_cast<int64_t>(NumberField(m, "lease.token"));
  o->heartbeat_s = static_cast<int>(NumberField(m, "run.heartbeat_s"));
  o->drain_grace_s = static_cast<int>(NumberField(m, "run.drain_grace_s"));
  o->run_id = static_cast<int64_t>(NumberField(m, "run.id"));
  o->run_dir = TextField(m, "run.dir");
  o->experiment = TextField(m, "run.experiment");
  o->config_hash = TextField(m, "run.config_hash");
  o->device = TextField(m, "run.device");
  o->threads = static_cast<int>(NumberField(m, "run.threads"));
  o->measure.latency_repeats = static_cast<int>(NumberField(m, "run.latency_repeats"));
  o->measure.latency_warmup = static_cast<int>(NumberField(m, "run.latency_warmup"));
  o->measure.store_adversarial = NumberField(m, "run.store_adversarial") != 0;
  o->measure.batch_size = static_cast<int64_t>(NumberField(m, "run.batch_size"));
}

UnitCompletion CompletionOf(const UnitReport& r, int64_t run_id) {
  UnitCompletion c;
  c.unit_id = r.unit_id;
  c.run_id = run_id;
  c.worker_rank = r.worker_rank;
  c.host = r.host;
  c.device = r.device;
  c.device_name = r.device_name;
  c.started_at = r.started_at;
  c.finished_at = r.finished_at;
  c.wall_seconds = r.wall_seconds;
  c.shard_file = r.shard_file;
  c.row_begin = r.row_begin;
  c.row_end = r.row_end;
  c.metrics = r.metrics;
  return c;
}

Message ResultMessage(const UnitReport& r) {
  ParamMap m;
  m["unit_id"] = r.unit_id;
  m["token"] = static_cast<double>(r.token);
  m["outcome"] = std::string(UnitOutcomeName(r.outcome));
  m["error"] = r.error;
  m["worker_rank"] = static_cast<double>(r.worker_rank);
  m["host"] = r.host;
  m["device"] = r.device;
  m["device_name"] = r.device_name;
  m["held_model"] = r.held_model;
  m["shard_file"] = r.shard_file;
  m["row_begin"] = static_cast<double>(r.row_begin);
  m["row_end"] = static_cast<double>(r.row_end);
  m["started_at"] = r.started_at;
  m["finished_at"] = r.finished_at;
  m["wall_seconds"] = r.wall_seconds;
  for (const auto& [k, v] : r.metrics) m["m." + k] = v;
  return {kTagResult, CanonicalJson(m)};
}

UnitReport ParseResult(const Message& msg) {
  ParamMap m = ParseFlatJson(msg.payload);
  UnitReport r;
  r.unit_id = TextField(m, "unit_id");
  r.token = static_cast<int64_t>(NumberField(m, "token"));
  r.outcome = ParseOutcome(TextField(m, "outcome"));
  r.error = TextField(m, "error");
  r.worker_rank = static_cast<int>(NumberField(m, "worker_rank"));
  r.host = TextField(m, "host");
  r.device = TextField(m, "device");
  r.device_name = TextField(m, "device_name");
  r.held_model = TextField(m, "held_model");
  r.shard_file = TextField(m, "shard_file");
  r.row_begin = static_cast<int64_t>(NumberField(m, "row_begin"));
  r.row_end = static_cast<int64_t>(NumberField(m, "row_end"));
  r.started_at = NumberField(m, "started_at");
  r.finished_at = NumberField(m, "finished_at");
  r.wall_seconds = NumberField(m, "wall_seconds");
  for (const auto& [k, v] : m) {
    if (k.rfind("m.", 0) == 0 && std::holds_alternative<double>(v)) r.metrics[k.substr(2)] = std::get<double>(v);
  }
  return r;
}

Message StopMessage() { return {kTagStop, "{}"}; }

Message DrainMessage() { return {kTagDrain, "{}"}; }

Message HeartbeatMessage(const HeartbeatInfo& b) {
  return {kTagHeartbeat,
          CanonicalJson({{"unit_id", b.unit_id}, {"token", static_cast<double>(b.token)}})};
}

HeartbeatInfo ParseHeartbeat(const Message& msg) {
  ParamMap m = ParseFlatJson(msg.payload);
  return {TextField(m, "unit_id"), static_cast<int64_t>(NumberField(m, "token"))};
}

Message ShardClosedMessage(const ShardClosed& c) {
  // Generated shard names never contain ';'.
  std::string files;
  for (const auto& f : c.shard_files) files += (files.empty() ? "" : ";") + f;
  return {kTagShardClosed,
          CanonicalJson({{"shard_files", files},
                         {"rows", static_cast<double>(c.rows)},
                         {"held_model", c.held_model}})};
}

ShardClosed ParseShardClosed(const Message& msg) {
  ParamMap m = ParseFlatJson(msg.payload);
  ShardClosed c;
  std::string files = TextField(m, "shard_files");
  for (size_t start = 0; !files.empty() && start <= files.size();) {
    const size_t end = files.find(';', start);
    c.shard_files.push_back(files.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  c.rows = static_cast<int64_t>(NumberField(m, "rows"));
  c.held_model = TextField(m, "held_model");
  return c;
}

std::string ShardFileName(int64_t run_id, int rank, int part) {
  char buf[80];
  if (part <= 0) {
    std::snprintf(buf, sizeof(buf), "shards/run%04lld-rank%03d.h5", static_cast<long long>(run_id),
                  rank);
  } else {
    std::snprintf(buf, sizeof(buf), "shards/run%04lld-rank%03d-p%d.h5",
                  static_cast<long long>(run_id), rank, part + 1);
  }
  return buf;
}

}  // namespace effrobust
