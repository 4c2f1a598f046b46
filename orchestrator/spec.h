// The experiment spec: a YAML file describing models x datasets x attacks x
// parameter grids and measurement options. Every key is documented in
// docs/experiment-format.md. Errors name the file, line, key, bad value and
// what is allowed (SpecError). Value types; thread-safe once built.
#ifndef EFFROBUST_ORCHESTRATOR_SPEC_H_
#define EFFROBUST_ORCHESTRATOR_SPEC_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace effrobust {

struct ModelSpec {
  std::string name;
  // Checkpoint written by `effrobust train`, or with `torchscript` the
  // TorchScript file (docs/model-contract.md).
  std::string path;
  bool torchscript = false;  // given as `torchscript: PATH`
  std::string family;        // torchscript: its family (TorchScriptFamilyNames())
  std::string dataset;       // torchscript: the dataset it was trained on
  int line = 0;
};

struct DatasetSpec {
  std::string name;            // "fashion-mnist"
  // cifar10 (required there, refused elsewhere): the directory of its binary
  // batch files, as written (relative to the working directory). Not part of
  // any unit's identity.
  std::string path;
  // captions-json (required there, refused elsewhere): the Karpathy-style
  // JSON file; its images are under `path`. Not part of any unit's identity.
  std::string json;
  // mot17 only: at most this many frames of each sequence; Default: 0 (all).
  int64_t max_frames = 0;
  std::string split = "test";  // Default: "test"
  int64_t begin = 0;           // first sample (inclusive)
  int64_t end = 0;             // one past the last sample
  int64_t shard_size = 0;      // samples per work unit; Default: whole range
  int line = 0;
};

struct AttackGrid {
  std::string name;
  // Parameter -> values as written (each list expands into the grid).
  std::vector<std::pair<std::string, std::vector<std::string>>> params;
  int line = 0;
};

// A defense in front of the model (see defenses/catalog.h). Every attack
// unit of a model the defense applies to also measures its clean and
// adversarial inputs through the defense (attack once, evaluate every
// defense). With `adaptive`, an input transform also gets units of its own
// whose attack optimises through it (BPDA).
struct DefenseSpec {
  std::string name = "none";
  std::vector<std::pair<std::string, std::string>> params;  // as written
  bool adaptive = false;  // Default: false
  int line = 0;
};

struct MeasureSpec {
  int latency_repeats = 5;        // Default: 5 timed runs (0 disables latency)
  int latency_warmup = 2;         // Default: 2
  bool store_adversarial = false; // Default: false
  int64_t batch_size = 250;       // Default: 250 samples per attack batch
};

// How the run copes with failures and stops (not part of any unit's identity).
struct PolicySpec {
  int max_retries = 2;         // Default: a failing unit is retried up to 2 more times per run
  int drain_grace_s = 60;      // Default: 60 s for busy workers to finish after a stop signal
  int lease_timeout_s = 600;   // Default: a worker silent for 600 s loses its unit
  int heartbeat_s = 30;        // Default: workers report progress every 30 s
};

struct ExperimentSpec {
  std::string file;    // path as given
  std::string text;    // the YAML text (stored with the run)
  std::string name;
  int64_t seed = 0;
  std::string output;           // run directory
  int name_line = 0;            // lines of `name:` and `output:` (0: absent)
  int output_line = 0;
  std::string device = "auto";  // auto | cpu | cuda; Default: auto
  int threads = 0;              // torch threads per worker; 0 = auto
  std::vector<ModelSpec> models;
  std::vector<DatasetSpec> datasets;
  std::vector<AttackGrid> attacks;
  std::vector<DefenseSpec> defenses;  // Default: one entry, "none"
  MeasureSpec measure;
  PolicySpec policy;
};

// Parses YAML `text`; `file` is used in error messages. Validates keys
// (unknown or repeated keys are errors), types, ranges, dataset names, attack
// parameters (via the attack catalog) and defenses (via the defense
// catalog). Lists/mappings nested deeper than yaml-cpp's recursion guard
// (500 parser levels in yaml-cpp 0.7, about 250 flow brackets) are refused
// by yaml-cpp without deep recursion and reported as too deep. Throws
// SpecError("<file>:<line>: key 'k' = 'v' ... (allowed: ...)"); values in
// messages are cut and escaped so the message is one line.
ExperimentSpec ParseSpec(const std::string& text, const std::string& file);

// Largest experiment file LoadSpec reads.
inline constexpr size_t kMaxSpecBytes = size_t{16} << 20;

// Reads and parses `path`. Throws SpecError if it is unreadable, a directory,
// or larger than kMaxSpecBytes (so /dev/zero ends with an error, not a hang).
ExperimentSpec LoadSpec(const std::string& path);

// Reduced scale (the top-level key `samples: N`, or `--samples N` of plan
// and run): every dataset keeps its first `samples` inputs (range end =
// min(end, begin + samples)), where an input of fashion-mnist-sequences is
// a frame (so ceil(samples / frames per sequence) sequences), and shard
// sizes shrink to at most the new range. With `rename_output` (the CLI
// option) the output directory becomes "<output>-samples<N>", so reduced
// and full results never share a run directory. Throws SpecError unless
// samples >= 1.
void LimitSamples(ExperimentSpec* spec, int64_t samples, bool rename_output);

// Sizes of the datasets effrobust knows, per split; SpecError otherwise.
// (cifar10's sizes are those of the official files, 50000 and 10000.)
int64_t DatasetSplitSize(const std::string& name, const std::string& split);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_SPEC_H_
