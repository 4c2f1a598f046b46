#include "common/stop_signal.h"

#include <signal.h>

#include <atomic>
#include <initializer_list>
#include <cstdio>

namespace effrobust {
namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_installed{false};

void OnStopSignal(int sig) {
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, sig) && sig == SIGINT) {
    signal(SIGINT, SIG_DFL);  // second Ctrl-C: let the next one kill
  }
}

}  // namespace

void InstallStopSignalHandlers() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &sa, nullptr);
}

int StopSignal() { return g_stop_signal.load(); }

void ClearStopSignal() { g_stop_signal.store(0); }

const char* StopSignalName(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGINT:
      return "SIGINT";
    default: {
      static thread_local char buf[32];
      std::snprintf(buf, sizeof(buf), "signal %d", sig);
      return buf;
    }
  }
}

}  // namespace effrobust
