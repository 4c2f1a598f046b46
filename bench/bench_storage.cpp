// Storage throughput with the layout a run actually uses (issue 8 section 3):
//  * HDF5: one worker's shard receiving units of R rows shaped like a D1
//    unit's (12 int64 + 22 float64 columns: labels, predictions, exits,
//    FLOPs, energy, density, latency, norms at two operating points), each
//    append followed by the unit record, as the worker loop does (both
//    flush). Optionally a float32 tensor per row (the adversarial image,
//    1x28x28) as `save_inputs` stores it.
//  * SQLite: the coordinator's per-unit commit (CommitUnit: one transaction
//    per finished unit, WAL with synchronous=NORMAL on a local disk).
// Prints rows/s, MB/s and commits/s. Asserts nothing.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"
#include "results/index.h"
#include "results/shard.h"

namespace effrobust {
namespace {

constexpr char kUsage[] =
    "usage: bench_storage [--units N] [--rows R] [--commits C] [--tensors] [--dir DIR]\n"
    "  --units N    HDF5 units appended (default 400)\n"
    "  --rows R     rows per unit (default 250, a D1 unit)\n"
    "  --commits C  SQLite unit commits (default 2000)\n"
    "  --tensors    also store a 1x28x28 float32 tensor per row\n"
    "  --dir DIR    where the temporary shard and index go (default /tmp; the disk a run\n"
    "               would use matters)\n";

RowBatch UnitRows(int64_t first, int64_t rows, bool tensors) {
  RowBatch b;
  for (int c = 0; c < 12; ++c) {
    std::vector<int64_t> v(rows);
    for (int64_t r = 0; r < rows; ++r) v[r] = (first + r) * (c + 1) % 11;
    b.AddInt("int_" + std::to_string(c), std::move(v));
  }
  for (int c = 0; c < 22; ++c) {
    std::vector<double> v(rows);
    for (int64_t r = 0; r < rows; ++r) v[r] = 1e6 * (1.0 + 0.37 * ((first + r + c) % 97));
    b.AddReal("real_" + std::to_string(c), std::move(v));
  }
  if (tensors) {
    TensorBlock& t = b.tensor();
    t.name = "x_adv";
    t.row_shape = {1, 28, 28};
    t.data.resize(static_cast<size_t>(rows) * 28 * 28);
    for (size_t i = 0; i < t.data.size(); ++i)
      t.data[i] = static_cast<float>((i * 7919) % 256) / 255;
  }
  return b;
}

int Main(int argc, char** argv) {
  int64_t units = 400, rows = 250, commits = 2000;
  bool tensors = false;
  std::string base = "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--units")
      units = std::stoll(next());
    else if (a == "--rows")
      rows = std::stoll(next());
    else if (a == "--commits")
      commits = std::stoll(next());
    else if (a == "--tensors")
      tensors = true;
    else if (a == "--dir")
      base = next();
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "bench_storage: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  SetLogQuiet(true);
  std::string tmpl = base + "/effrobust-storage-XXXXXX";
  const std::string dir = mkdtemp(tmpl.data());

  // HDF5 appends.
  {
    auto shard = CreateHdf5Shard(dir + "/shard.h5", {{"run_id", "1"}});
    const RowBatch batch = UnitRows(0, rows, tensors);
    const double bytes_per_row = 12 * 8 + 22 * 8 + (tensors ? 28 * 28 * 4 : 0);
    const double t0 = MonotonicSeconds();
    for (int64_t u = 0; u < units; ++u) {
      const std::string id = "unit" + std::to_string(u);
      shard->Append(id, batch);
      shard->AppendUnitRecord(id,
                              "{\"unit_id\":\"" + id + "\",\"rows\":" + std::to_string(rows) + "}");
    }
    const double s = MonotonicSeconds() - t0;
    shard->Close();
    const double file_mb = std::filesystem::file_size(dir + "/shard.h5") / 1e6;
    const double n = static_cast<double>(units * rows);
    std::printf(
        "hdf5 append: %lld units x %lld rows (34 columns%s) in %.2f s = %.0f rows/s, "
        "%.1f MB/s of row data, %.1f appends/s; file %.1f MB\n",
        static_cast<long long>(units), static_cast<long long>(rows),
        tensors ? " + 1x28x28 float32 tensor" : "", s, n / s, n * bytes_per_row / s / 1e6,
        units / s, file_mb);
  }

  // SQLite unit commits.
  {
    auto index = OpenSqliteIndex(dir + "/index.sqlite");
    const int64_t run = index->BeginRun(RunRecord{});
    std::vector<UnitPlan> plans(commits);
    for (int64_t i = 0; i < commits; ++i) {
      UnitPlan& p = plans[i];
      p.unit_id = "u" + std::to_string(i);
      p.model = "sdn-fmnist";
      p.dataset = "fashion-mnist";
      p.split = "test";
      p.sample_begin = i * 250;
      p.sample_end = i * 250 + 250;
      p.attack = "deepsloth";
      p.params_json = "{\"eps\":0.0314,\"iterations\":30}";
      p.spec_json = "{}";
    }
    double t0 = MonotonicSeconds();
    index->PlanUnits(run, plans);
    const double plan_s = MonotonicSeconds() - t0;
    t0 = MonotonicSeconds();
    for (int64_t i = 0; i < commits; ++i) {
      index->MarkRunning(plans[i].unit_id, run, 1, "host", WallSeconds());
      UnitCompletion c;
      c.unit_id = plans[i].unit_id;
      c.run_id = run;
      c.worker_rank = 1;
      c.host = "host";
      c.shard_file = "shards/run1-rank1-part0.h5";
      c.row_begin = i * 250;
      c.row_end = i * 250 + 250;
      for (int m = 0; m < 12; ++m) c.metrics["metric_" + std::to_string(m)] = 0.5 * m + i;
      c.device = "cpu";
      index->CommitUnit(c);
    }
    const double s = MonotonicSeconds() - t0;
    std::printf(
        "sqlite: planned %lld units in %.3f s; %lld units marked running + committed "
        "(12 metrics each, one transaction each) in %.2f s = %.0f units/s\n",
        static_cast<long long>(commits), plan_s, static_cast<long long>(commits), s, commits / s);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace effrobust

int main(int argc, char** argv) {
  try {
    return effrobust::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_storage: %s\n", e.what());
    return 1;
  }
}
