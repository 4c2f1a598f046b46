// `effrobust submit`, the pure part: its options (parsed and validated), the
// task layout they imply, and the batch script rendered from the template
// slurm/effrobust.sbatch.in (compiled into the binary). No I/O, no Slurm
// calls; orchestrator/cli/submit_command.cpp writes and submits the script.
// Torch-free. Thread-safe: pure functions over value types.
#ifndef EFFROBUST_ORCHESTRATOR_SUBMIT_H_
#define EFFROBUST_ORCHESTRATOR_SUBMIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace effrobust {

enum class Launcher { kSrun, kMpirun };

struct SubmitOptions {
  std::string experiment;         // FILE (required)
  int nodes = 0;                  // --nodes (required): 1 .. 100000
  int gpus_per_node = 0;          // --gpus-per-node (required): 0 .. 64; one worker per GPU
  std::string time;               // --time (required): HH:MM:SS or D-HH:MM:SS, above zero
  std::string partition;          // --partition; Default: "" (the cluster's default partition)
  std::string account;            // --account; Default: "" (the user's default account)
  int cpus_per_task = 1;          // --cpus-per-task: 1 .. 1024; Default: 1 (also OMP_NUM_THREADS)
  int workers_per_node = 1;       // --workers-per-node, G = 0 only: 1 .. 1024; Default: 1.
                                  // With G > 0 it is G (giving another value is an error).
  Launcher launcher = Launcher::kSrun;  // --launcher srun|mpirun; Default: srun
  int signal_lead_s = 0;          // --signal-lead: 1 .. 65535; Default: 0 = drain_grace_s + 60
  bool requeue = true;            // --no-requeue clears it; Default: true
  bool dry_run = false;           // --dry-run: write and print the script, do not submit
};

// Parses the arguments after `effrobust submit` (FILE and options, any
// order). Throws SpecError with one line naming the option, the value and
// what is allowed: unknown or repeated option, missing value, missing
// required option, bad number, bad time, conflicting options.
SubmitOptions ParseSubmitArgs(const std::vector<std::string>& args);

// Seconds in a Slurm time limit "HH:MM:SS" or "D-HH:MM:SS" (minutes and
// seconds below 60). Throws SpecError naming `option` otherwise.
int64_t ParseTimeLimit(const std::string& text, const std::string& option = "--time");

// How ranks land on nodes. Rank 0 is the CPU-only coordinator; ranks are
// placed cyclically (rank r on node r mod N), so node 0 holds the
// coordinator and `workers_per_node` workers, every other node the workers
// only. Each node is asked for `tasks_per_node` = workers + 1 task slots
// (the coordinator's slot stays empty on nodes 1..N-1).
struct TaskLayout {
  int workers_per_node = 0;  // G when G > 0, else W
  int tasks_per_node = 0;    // workers_per_node + 1
  int total_tasks = 0;       // nodes * workers_per_node + 1
};
TaskLayout LayoutOf(const SubmitOptions& options);

// What the script needs besides the options. Paths absolute.
struct BatchScriptContext {
  std::string job_name;      // e.g. "effrobust-quickstart"
  std::string binary;        // the effrobust executable
  std::string experiment;    // the experiment file
  std::string workdir;       // where relative paths in the experiment start
  std::string run_dir;       // spec.output; logs go to RUN_DIR/slurm
  int drain_grace_s = 60;    // the experiment's policy.drain_grace_s
  int64_t units = 0;         // planned units (for the header comment)
  std::string rendered_at;   // timestamp for the header comment
};

// The batch script for `options` and `context`. Throws SpecError when the
// signal lead is not above drain_grace_s or not below the time limit, or when
// the working or run directory cannot be written into an #SBATCH line
// (whitespace, quotes, '%', backslash) or a path holds a line break.
std::string RenderBatchScript(const SubmitOptions& options, const BatchScriptContext& context);

// Replaces every "{{NAME}}" in `text` by values[NAME]; a line that is only
// a placeholder whose value is empty is dropped. Throws OrchestratorError
// on a placeholder without a value or a value that is never used.
std::string FillTemplate(const std::string& text, const std::map<std::string, std::string>& values);

// "effrobust-" + the experiment name with every character other than
// letters, digits, '_', '-' and '.' replaced by '_'.
std::string JobNameFor(const std::string& experiment_name);

// The text of slurm/effrobust.sbatch.in as built into the binary.
const char* BatchScriptTemplate();

// `text` as one single-quoted shell word.
std::string ShellQuote(const std::string& text);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_SUBMIT_H_
