// Minimal logging to stderr with a timestamp and the rank, e.g.
// "2026-11-25 18:30:01 [rank 2] loaded model sdn-fmnist". Thread-safe: each
// line is written with one call under a mutex.
#ifndef EFFROBUST_COMMON_LOG_H_
#define EFFROBUST_COMMON_LOG_H_

#include <string>

namespace effrobust {

// Sets the rank shown in log lines (default -1: not shown).
void SetLogRank(int rank);

// Quiet mode drops Info lines (Warn and errors still print).
void SetLogQuiet(bool quiet);

void LogInfo(const std::string& message);
void LogWarn(const std::string& message);

// Seconds since the Unix epoch (wall clock) and a monotonic clock.
double WallSeconds();
double MonotonicSeconds();

// "2026-11-25T18:30:01Z" for `wall_seconds`.
std::string IsoTime(double wall_seconds);

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_LOG_H_
