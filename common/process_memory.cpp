#include "common/process_memory.h"

#include <fstream>
#include <sstream>
#include <string>

namespace effrobust {

ProcessMemory ReadProcessMemory() {
  ProcessMemory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    double kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:") m.rss_mib = kib / 1024;
    if (key == "VmHWM:") m.peak_mib = kib / 1024;
  }
  return m;
}

}  // namespace effrobust
