// Progress from inside long loops (an attack's iterations, a universal
// attack's epochs) to whoever runs them. A worker installs a hook for the
// duration of a unit -- its heartbeat and drain checkpoint -- and the loops
// call ReportProgress() once per iteration, so a unit whose single batch
// runs longer than the coordinator's lease timeout still sends heartbeats.
// Without a hook ReportProgress() does nothing. The hook may throw (a unit
// abandoned mid-attack); the exception leaves the loop like any other.
// Thread-local: a hook installed on one thread is seen only there.
#ifndef EFFROBUST_COMMON_PROGRESS_H_
#define EFFROBUST_COMMON_PROGRESS_H_

#include <functional>

namespace effrobust {

// Calls the hook installed on this thread, if any.
void ReportProgress();

// Installs `hook` on this thread for the lifetime of the object; restores the
// previous hook (or none) when destroyed. Not copyable.
class ScopedProgressHook {
 public:
  explicit ScopedProgressHook(std::function<void()> hook);
  ~ScopedProgressHook();
  ScopedProgressHook(const ScopedProgressHook&) = delete;
  ScopedProgressHook& operator=(const ScopedProgressHook&) = delete;

 private:
  std::function<void()> hook_;
  std::function<void()>* previous_;
};

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_PROGRESS_H_
