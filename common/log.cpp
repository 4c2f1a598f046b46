#include "common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace effrobust {
namespace {
int g_rank = -1;
bool g_quiet = false;
std::mutex g_mu;

void Write(const char* level, const std::string& message) {
  std::string line = IsoTime(WallSeconds());
  if (g_rank >= 0) line += " [rank " + std::to_string(g_rank) + "]";
  line += std::string(" ") + level + message + "\n";
  std::lock_guard<std::mutex> lock(g_mu);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}
}  // namespace

void SetLogRank(int rank) { g_rank = rank; }
void SetLogQuiet(bool quiet) { g_quiet = quiet; }
void LogInfo(const std::string& message) {
  if (!g_quiet) Write("", message);
}
void LogWarn(const std::string& message) { Write("WARNING: ", message); }

double WallSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}
double MonotonicSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string IsoTime(double wall_seconds) {
  std::time_t t = static_cast<std::time_t>(wall_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace effrobust
