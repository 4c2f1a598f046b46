// Helpers for tests that drive the real `effrobust` binary: run a shell
// command with its output in a log, read files, find the processes of a
// run started in the background, wait for files. Header-only test support.
#ifndef EFFROBUST_TESTS_SUPPORT_PROCESS_H_
#define EFFROBUST_TESTS_SUPPORT_PROCESS_H_

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace effrobust {
namespace test {

// Runs `cmd` through the shell with stdout and stderr into `log`; returns
// its exit status (-1 if it did not exit normally).
inline int Shell(const std::string& cmd, const std::string& log) {
  const int rc = std::system((cmd + " >" + log + " 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "mpirun ... -np N " as root, oversubscribed, unbound.
inline std::string Mpirun(int np) {
  return "mpirun --allow-run-as-root --oversubscribe --bind-to none -np " + std::to_string(np) +
         " ";
}

// Starts `cmd` in the background with its output in `log`; its exit status
// is written to `rc_file` when it ends.
inline void StartBackground(const std::string& cmd, const std::string& log,
                            const std::string& rc_file) {
  std::system(("( " + cmd + " >" + log + " 2>&1; echo $? >" + rc_file + " ) &").c_str());
}

// Polls `done` every 100 ms for up to `timeout_s`; returns its last value.
inline bool WaitFor(const std::function<bool()>& done, double timeout_s) {
  for (int i = 0; i < timeout_s * 10; ++i) {
    if (done()) return true;
    usleep(100000);
  }
  return done();
}

// Waits for a background command's exit status; -1 on timeout.
inline int WaitExit(const std::string& rc_file, double timeout_s) {
  if (!WaitFor([&] { return std::filesystem::exists(rc_file) && !Slurp(rc_file).empty(); },
               timeout_s)) {
    return -1;
  }
  return std::stoi(Slurp(rc_file));
}

// Pids of live processes whose argv[0] ends with `program` and whose
// arguments include `arg`; with `mpi_rank` >= 0 only the process of that
// MPI rank (OMPI_COMM_WORLD_RANK in its environment).
inline std::vector<pid_t> FindProcesses(const std::string& program, const std::string& arg,
                                        int mpi_rank = -1) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::vector<std::string> argv;
    {
      std::ifstream in(entry.path() / "cmdline");
      std::string a;
      while (std::getline(in, a, '\0')) argv.push_back(a);
    }
    if (argv.empty()) continue;
    const std::string& a0 = argv[0];
    if (a0.size() < program.size() || a0.compare(a0.size() - program.size(), program.size(), program)) {
      continue;
    }
    bool has_arg = false;
    for (const auto& a : argv) has_arg = has_arg || a == arg;
    if (!has_arg) continue;
    if (mpi_rank >= 0) {
      std::ifstream in(entry.path() / "environ");
      std::string kv;
      bool match = false;
      while (std::getline(in, kv, '\0')) {
        match = match || kv == "OMPI_COMM_WORLD_RANK=" + std::to_string(mpi_rank);
      }
      if (!match) continue;
    }
    pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_PROCESS_H_
