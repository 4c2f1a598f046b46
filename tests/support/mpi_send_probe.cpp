// mpi_send_probe DIR: run under mpirun -np 2. Pins that MpiTransport::Send
// returns while the receiving rank makes no MPI progress at all.
//
// Rank 1 says it is ready, then stays out of MPI until rank 0 creates
// DIR/go (or 60 s pass, when it writes DIR/gave_up). Rank 0 sends it a
// small and a large message (eager and rendezvous sizes), creates DIR/go only
// after both Sends returned, then waits for rank 1's echo of the sizes and
// contents. With a blocking send rank 0 could not create DIR/go before
// rank 1 gave up. Prints "OK" on rank 0 when the echo matches and rank 1
// never gave up; exits non-zero otherwise.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "common/log.h"
#include "orchestrator/mpi_transport.h"

namespace fs = std::filesystem;
using effrobust::Message;
using effrobust::MonotonicSeconds;

namespace {

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

int Rank1(effrobust::Transport& t, const fs::path& dir) {
  t.Send(0, {1, "ready"});
  const double give_up = MonotonicSeconds() + 60.0;
  while (!fs::exists(dir / "go")) {
    if (MonotonicSeconds() > give_up) {
      std::ofstream(dir / "gave_up") << "rank 1 waited 60 s for rank 0's go\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string echo;
  for (int i = 0; i < 2; ++i) {
    int source = -1;
    Message m;
    if (!t.Receive(120.0, &source, &m)) return 1;
    echo +=
        std::to_string(m.tag) + ":" + std::to_string(m.payload.size()) + ":" +
        (m.payload == Pattern(m.payload.size(), static_cast<char>('a' + m.tag)) ? "same" : "diff") +
        " ";
  }
  t.Send(0, {9, echo});
  return 0;
}

int Rank0(effrobust::Transport& t, const fs::path& dir) {
  int source = -1;
  Message m;
  if (!t.Receive(120.0, &source, &m) || m.payload != "ready") return 1;
  t.Send(1, {2, Pattern(2000, 'a' + 2)});     // over the size that made MPI_Send wait
  t.Send(1, {3, Pattern(1 << 20, 'a' + 3)});  // rendezvous protocol
  std::ofstream(dir / "go") << "sent\n";
  if (!t.Receive(180.0, &source, &m)) {
    std::printf("no echo from rank 1\n");
    return 1;
  }
  std::printf("echo: %s\n", m.payload.c_str());
  const bool gave_up = fs::exists(dir / "gave_up");
  if (gave_up) std::printf("rank 1 gave up waiting: rank 0's Send waited for it\n");
  const bool ok = !gave_up && m.payload == "2:2000:same 3:1048576:same ";
  if (ok) std::printf("OK\n");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mpirun -np 2 mpi_send_probe DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  int rc = 1;
  {
    effrobust::MpiSession mpi(&argc, &argv);
    auto t = mpi.WorldTransport();
    if (t->size() != 2) {
      std::fprintf(stderr, "mpi_send_probe needs exactly 2 ranks\n");
      return 2;
    }
    rc = t->rank() == 0 ? Rank0(*t, dir) : Rank1(*t, dir);
  }
  return rc;
}
