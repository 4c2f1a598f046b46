#include "orchestrator/submit.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "common/error.h"

namespace effrobust {
namespace {

const std::set<std::string> kFlags = {"--no-requeue", "--dry-run"};
const std::set<std::string> kValued = {"--nodes",         "--gpus-per-node",    "--time",
                                       "--partition",     "--account",          "--cpus-per-task",
                                       "--workers-per-node", "--launcher",      "--signal-lead"};

int IntIn(const std::map<std::string, std::string>& opts, const std::string& key, int lo, int hi,
          const std::string& what) {
  const std::string& text = opts.at(key);
  bool digits = !text.empty() && text.size() <= 9;
  for (char c : text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  const long long v = digits ? std::stoll(text) : -1;
  if (!digits || v < lo || v > hi) {
    throw SpecError("option " + key + " = '" + text + "': " + what + " must be an integer from " +
                    std::to_string(lo) + " to " + std::to_string(hi));
  }
  return static_cast<int>(v);
}

// Partition and account names: letters, digits, '_', '-', '.' (partition
// lists also ',').
std::string Name(const std::map<std::string, std::string>& opts, const std::string& key,
                 const std::string& extra) {
  const std::string& text = opts.at(key);
  bool ok = !text.empty();
  for (char c : text) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                extra.find(c) != std::string::npos);
  }
  if (!ok) {
    throw SpecError("option " + key + " = '" + text + "': allowed are letters, digits, '_', '-', '.'" +
                    (extra.empty() ? "" : " and '" + extra + "'"));
  }
  return text;
}

// A path that must go into an #SBATCH line or the filename patterns there.
void CheckSbatchPath(const std::string& what, const std::string& path) {
  for (char c : path) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' || c == '%' || c == '\\') {
      throw SpecError(what + " '" + path + "' contains '" + std::string(1, c) +
                      "', which an #SBATCH line cannot carry (no whitespace, quotes, '%' or '\\')");
    }
  }
}

void CheckOneLine(const std::string& what, const std::string& path) {
  if (path.find_first_of("\r\n") != std::string::npos) {
    throw SpecError(what + " '" + path + "' contains a line break");
  }
}

std::string LayoutText(const SubmitOptions& o, const TaskLayout& l) {
  const std::string unit = o.gpus_per_node > 0 ? " GPU worker(s)" : " CPU worker(s)";
  std::string text = std::to_string(o.nodes) + " node(s) x " + std::to_string(l.tasks_per_node) +
                     " task slots; " + std::to_string(l.total_tasks) +
                     " ranks placed cyclically: node 0 runs rank 0 (CPU-only coordinator) and " +
                     std::to_string(l.workers_per_node) + unit;
  if (o.nodes > 1) text += ", nodes 1.." + std::to_string(o.nodes - 1) + " " + std::to_string(l.workers_per_node) + unit + " each";
  if (o.gpus_per_node > 0) {
    text += "; a worker uses GPU (node-local worker index mod visible GPUs)";
  }
  return text;
}

std::string LaunchLine(const SubmitOptions& o, const TaskLayout& l, const BatchScriptContext& c) {
  const std::string program = ShellQuote(c.binary) + " run " + ShellQuote(c.experiment);
  if (o.launcher == Launcher::kMpirun) {
    return "mpirun -np " + std::to_string(l.total_tasks) + " --map-by node --bind-to none " + program;
  }
  // --kill-on-bad-exit: a rank that dies ends the step (the next start resumes)
  // instead of leaving the others waiting for it.
  return "srun --mpi=pmix --kill-on-bad-exit=1 --ntasks=" + std::to_string(l.total_tasks) +
         " --distribution=cyclic --cpus-per-task=" + std::to_string(o.cpus_per_task) + " " + program;
}

}  // namespace

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

int64_t ParseTimeLimit(const std::string& text, const std::string& option) {
  static const std::regex kTime(R"(^(?:(\d{1,4})-)?(\d{1,5}):(\d{2}):(\d{2})$)");
  std::smatch m;
  const std::string allowed = "allowed: HH:MM:SS or D-HH:MM:SS with minutes and seconds below 60, above zero";
  if (!std::regex_match(text, m, kTime)) {
    throw SpecError("option " + option + " = '" + text + "': " + allowed);
  }
  const int64_t days = m[1].matched ? std::stoll(m[1].str()) : 0;
  const int64_t h = std::stoll(m[2].str()), min = std::stoll(m[3].str()), s = std::stoll(m[4].str());
  const int64_t total = ((days * 24 + h) * 60 + min) * 60 + s;
  if (min >= 60 || s >= 60 || total <= 0) {
    throw SpecError("option " + option + " = '" + text + "': " + allowed);
  }
  return total;
}

SubmitOptions ParseSubmitArgs(const std::vector<std::string>& args) {
  std::map<std::string, std::string> opts;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      positional.push_back(a);
      continue;
    }
    if (!kFlags.count(a) && !kValued.count(a)) {
      throw SpecError("unknown option '" + a + "' for 'submit' (see effrobust submit --help)");
    }
    if (opts.count(a)) throw SpecError("option " + a + " is given twice");
    if (kFlags.count(a)) {
      opts[a] = "";
    } else if (i + 1 >= args.size()) {
      throw SpecError("option " + a + " of 'submit' needs a value");
    } else {
      opts[a] = args[++i];
    }
  }
  if (positional.size() != 1) {
    throw SpecError("'submit' takes one experiment FILE, got " + std::to_string(positional.size()) +
                    " (see effrobust submit --help)");
  }
  for (const char* required : {"--nodes", "--gpus-per-node", "--time"}) {
    if (!opts.count(required)) {
      throw SpecError(std::string("option ") + required + " is required (see effrobust submit --help)");
    }
  }
  SubmitOptions o;
  o.experiment = positional[0];
  o.nodes = IntIn(opts, "--nodes", 1, 100000, "the number of nodes");
  o.gpus_per_node = IntIn(opts, "--gpus-per-node", 0, 64, "GPUs per node");
  o.time = opts.at("--time");
  ParseTimeLimit(o.time);
  if (opts.count("--partition")) o.partition = Name(opts, "--partition", ",");
  if (opts.count("--account")) o.account = Name(opts, "--account", "");
  if (opts.count("--cpus-per-task")) o.cpus_per_task = IntIn(opts, "--cpus-per-task", 1, 1024, "CPUs per task");
  if (o.gpus_per_node > 0) {
    o.workers_per_node = o.gpus_per_node;
    if (opts.count("--workers-per-node") && opts.at("--workers-per-node") != std::to_string(o.gpus_per_node)) {
      throw SpecError("option --workers-per-node = '" + opts.at("--workers-per-node") +
                      "' conflicts with --gpus-per-node " + std::to_string(o.gpus_per_node) +
                      ": with GPUs there is one worker per GPU (leave --workers-per-node out)");
    }
  } else if (opts.count("--workers-per-node")) {
    o.workers_per_node = IntIn(opts, "--workers-per-node", 1, 1024, "CPU workers per node");
  }
  if (opts.count("--launcher")) {
    const std::string& l = opts.at("--launcher");
    if (l == "srun") {
      o.launcher = Launcher::kSrun;
    } else if (l == "mpirun") {
      o.launcher = Launcher::kMpirun;
    } else {
      throw SpecError("option --launcher = '" + l + "': allowed are srun and mpirun");
    }
  }
  if (opts.count("--signal-lead")) {
    o.signal_lead_s = IntIn(opts, "--signal-lead", 1, 65535, "seconds before the time limit");
  }
  o.requeue = !opts.count("--no-requeue");
  o.dry_run = opts.count("--dry-run") > 0;
  return o;
}

TaskLayout LayoutOf(const SubmitOptions& o) {
  TaskLayout l;
  l.workers_per_node = o.gpus_per_node > 0 ? o.gpus_per_node : o.workers_per_node;
  l.tasks_per_node = l.workers_per_node + 1;
  l.total_tasks = o.nodes * l.workers_per_node + 1;
  return l;
}

std::string JobNameFor(const std::string& experiment_name) {
  std::string name = "effrobust-";
  for (char c : experiment_name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    name += ok ? c : '_';
  }
  return name;
}

std::string FillTemplate(const std::string& text, const std::map<std::string, std::string>& values) {
  std::set<std::string> used;
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out.append(text, pos, std::string::npos);
      break;
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      throw OrchestratorError("batch script template: '{{' without '}}' at offset " + std::to_string(open));
    }
    const std::string name = text.substr(open + 2, close - open - 2);
    auto it = values.find(name);
    if (it == values.end()) {
      throw OrchestratorError("batch script template: no value for placeholder {{" + name + "}}");
    }
    used.insert(name);
    out.append(text, pos, open - pos);
    size_t next = close + 2;
    const bool whole_line = (open == 0 || text[open - 1] == '\n') && next < text.size() && text[next] == '\n';
    if (it->second.empty() && whole_line) {
      ++next;  // drop the empty line
    } else {
      out += it->second;
    }
    pos = next;
  }
  for (const auto& [name, value] : values) {
    if (!used.count(name)) {
      throw OrchestratorError("batch script template: placeholder {{" + name + "}} is not in the template");
    }
  }
  return out;
}

std::string RenderBatchScript(const SubmitOptions& o, const BatchScriptContext& c) {
  const int64_t limit_s = ParseTimeLimit(o.time);
  const int lead = o.signal_lead_s > 0 ? o.signal_lead_s : std::min(65535, c.drain_grace_s + 60);
  if (lead <= c.drain_grace_s) {
    throw SpecError("option --signal-lead = '" + std::to_string(lead) +
                    "' is not above the experiment's policy.drain_grace_s (" +
                    std::to_string(c.drain_grace_s) +
                    "): the job could be killed while draining; use more than " +
                    std::to_string(c.drain_grace_s) + " or lower drain_grace_s");
  }
  if (lead >= limit_s) {
    throw SpecError("option --signal-lead = '" + std::to_string(lead) + "' must be below the time limit (" +
                    o.time + " = " + std::to_string(limit_s) + " s)" +
                    (o.signal_lead_s > 0 ? "" : "; the default is policy.drain_grace_s + 60"));
  }
  CheckOneLine("experiment file", c.experiment);
  CheckOneLine("effrobust binary", c.binary);
  CheckSbatchPath("working directory", c.workdir);
  CheckSbatchPath("run directory", c.run_dir);
  const TaskLayout l = LayoutOf(o);
  std::string optional;
  if (!o.partition.empty()) optional += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.account.empty()) optional += "#SBATCH --account=" + o.account + "\n";
  if (o.gpus_per_node > 0) optional += "#SBATCH --gpus-per-node=" + std::to_string(o.gpus_per_node) + "\n";
  optional += o.requeue ? "#SBATCH --requeue" : "#SBATCH --no-requeue";
  const std::map<std::string, std::string> values = {
      {"RENDERED_AT", c.rendered_at},
      {"EXPERIMENT", c.experiment},
      {"UNITS", std::to_string(c.units)},
      {"RUN_DIR", c.run_dir},
      {"LAYOUT", LayoutText(o, l)},
      {"SIGNAL_LEAD", std::to_string(lead)},
      {"REQUEUE_NOTE", o.requeue ? "allowed" : "disabled by --no-requeue"},
      {"JOB_NAME", c.job_name},
      {"NODES", std::to_string(o.nodes)},
      {"TASKS_PER_NODE", std::to_string(l.tasks_per_node)},
      {"CPUS_PER_TASK", std::to_string(o.cpus_per_task)},
      {"TIME", o.time},
      {"WORKDIR", c.workdir},
      {"LOG_DIR", c.run_dir + "/slurm"},
      {"OPTIONAL_DIRECTIVES", optional},
      {"REQUEUE", o.requeue ? "1" : "0"},
      {"NTASKS", std::to_string(l.total_tasks)},
      {"LAUNCH", LaunchLine(o, l, c)},
      {"BINARY_Q", ShellQuote(c.binary)},
      {"RUN_DIR_Q", ShellQuote(c.run_dir)},
  };
  return FillTemplate(BatchScriptTemplate(), values);
}

}  // namespace effrobust
