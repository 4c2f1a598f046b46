// Stop signals: SIGTERM (preemption, scancel), SIGUSR1 (Slurm's warning
// before the time limit), SIGINT (Ctrl-C) ask a run to drain instead of
// killing the process. The handler only records the first signal; the
// coordinator and workers poll StopSignal() and drain at a safe point.
// Thread-safe (an atomic); async-signal-safe handler.
#ifndef EFFROBUST_COMMON_STOP_SIGNAL_H_
#define EFFROBUST_COMMON_STOP_SIGNAL_H_

namespace effrobust {

// Installs the handlers (idempotent). A second SIGINT while a drain is
// already under way restores the default action, so Ctrl-C twice kills.
void InstallStopSignalHandlers();

// The first stop signal received (SIGTERM, SIGUSR1, SIGINT), or 0.
int StopSignal();

// For tests: forget a recorded signal.
void ClearStopSignal();

// "SIGTERM", "SIGUSR1", "SIGINT", or "signal N".
const char* StopSignalName(int signal_number);

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_STOP_SIGNAL_H_
