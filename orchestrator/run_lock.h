// One run at a time per run directory: the coordinator holds an exclusive
// fcntl lock on RUN_DIR/run.lock for the whole run, so a second `effrobust
// run` on the same directory (a duplicate submission, a requeued job whose
// predecessor still lingers) stops with a clear error instead of doing the
// same units twice. The lock dies with the process (also on kill -9). The
// file holds "pid host started" of the holder, for the error message; it is
// never deleted. fcntl locks work on NFS (through lockd) and Lustre/GPFS.
#ifndef EFFROBUST_ORCHESTRATOR_RUN_LOCK_H_
#define EFFROBUST_ORCHESTRATOR_RUN_LOCK_H_

#include <memory>
#include <string>

namespace effrobust {

class RunLock {
 public:
  virtual ~RunLock() = default;  // releases the lock
};

// Takes the lock on `run_dir`/run.lock (the directory must exist). Throws
// SpecError naming the holder if another process holds it, OrchestratorError
// if the file cannot be opened.
std::unique_ptr<RunLock> AcquireRunLock(const std::string& run_dir);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_RUN_LOCK_H_
