// `effrobust submit`: the side effects around orchestrator/submit.h — load
// the experiment, write the rendered batch script into RUN_DIR/slurm/ and
// hand it to sbatch.
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/experiment.h"
#include "orchestrator/spec.h"
#include "orchestrator/submit.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;

std::string LocalTime(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), format, &tm);
  return buf;
}

// Creates DIR/job-STAMP.sbatch (or job-STAMP-2.sbatch, ... when taken; an
// existing file is never touched) holding `text`; returns its path.
std::string WriteNewScript(const fs::path& dir, const std::string& stamp, const std::string& text) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw OrchestratorError("cannot create '" + dir.string() + "': " + ec.message());
  for (int i = 1; i < 1000; ++i) {
    const std::string path =
        (dir / ("job-" + stamp + (i > 1 ? "-" + std::to_string(i) : "") + ".sbatch")).string();
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) throw OrchestratorError("cannot create '" + path + "': " + std::strerror(errno));
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const std::string why = std::strerror(errno);
        close(fd);
        throw OrchestratorError("cannot write '" + path + "': " + why);
      }
      done += static_cast<size_t>(n);
    }
    if (close(fd) != 0) throw OrchestratorError("cannot write '" + path + "': " + std::strerror(errno));
    return path;
  }
  throw OrchestratorError("cannot create a new job script in '" + dir.string() + "': 999 names taken");
}

// Runs `sbatch --parsable PATH`; returns the job id it prints.
std::string Sbatch(const std::string& path) {
  const std::string command = "sbatch --parsable " + ShellQuote(path) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw OrchestratorError("cannot run sbatch: " + std::string(std::strerror(errno)));
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), pipe)) out += buf;
  const int status = pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    throw OrchestratorError("sbatch failed (exit " + std::to_string(code) + ") for '" + path + "': " +
                            (code == 127 ? "sbatch is not installed or not on PATH" : out));
  }
  // --parsable prints "JOBID" or "JOBID;CLUSTER" as its last line.
  const size_t line = out.rfind('\n');
  std::string id = out.substr(line == std::string::npos ? 0 : line + 1);
  id = id.substr(0, id.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw OrchestratorError("sbatch printed no job id for '" + path + "': " + out);
  }
  return id;
}

}  // namespace

int SubmitCommand(const std::vector<std::string>& args) {
  const SubmitOptions options = ParseSubmitArgs(args);
  const ExperimentSpec spec = LoadSpec(options.experiment);
  const std::vector<WorkUnit> units = PlanExperiment(spec);  // missing models fail now, not in the queue

  BatchScriptContext context;
  context.job_name = JobNameFor(spec.name);
  std::error_code ec;
  context.binary = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw OrchestratorError("cannot find the effrobust binary (/proc/self/exe): " + ec.message());
  context.workdir = fs::current_path().string();
  context.experiment = fs::absolute(options.experiment).lexically_normal().string();
  fs::path run_dir = fs::absolute(spec.output).lexically_normal();
  if (run_dir.filename().empty()) run_dir = run_dir.parent_path();  // "runs/x/" -> "runs/x"
  context.run_dir = run_dir.string();
  context.drain_grace_s = spec.policy.drain_grace_s;
  context.units = static_cast<int64_t>(units.size());
  context.rendered_at = LocalTime("%Y-%m-%d %H:%M:%S");
  const std::string script = RenderBatchScript(options, context);

  const std::string path = WriteNewScript(run_dir / "slurm", LocalTime("%Y%m%d-%H%M%S"), script);
  std::printf("%s", script.c_str());
  std::fflush(stdout);
  if (options.dry_run) {
    std::fprintf(stderr, "effrobust: wrote %s (dry run: not submitted; `sbatch %s` submits it)\n",
                 path.c_str(), path.c_str());
    return 0;
  }
  const std::string job_id = Sbatch(path);
  std::fprintf(stderr, "effrobust: wrote %s and submitted it as job %s (logs: %s/slurm/slurm-%s.out)\n",
               path.c_str(), job_id.c_str(), context.run_dir.c_str(), job_id.c_str());
  std::printf("%s\n", job_id.c_str());
  return 0;
}

}  // namespace effrobust
