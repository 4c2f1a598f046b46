// Resident memory of this process, from /proc/self/status (Linux): what a
// worker logs after each unit so that growth across units is visible.
#ifndef EFFROBUST_COMMON_PROCESS_MEMORY_H_
#define EFFROBUST_COMMON_PROCESS_MEMORY_H_

namespace effrobust {

struct ProcessMemory {
  double rss_mib = 0;   // VmRSS: resident now
  double peak_mib = 0;  // VmHWM: highest resident so far
};

// Both 0 where /proc/self/status cannot be read.
ProcessMemory ReadProcessMemory();

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_PROCESS_MEMORY_H_
