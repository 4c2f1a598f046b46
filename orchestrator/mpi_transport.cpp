#include "orchestrator/mpi_transport.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <list>
#include <thread>

#include "common/error.h"
#include "common/log.h"

namespace effrobust {
namespace {

void Check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw OrchestratorError(std::string(what) + " failed: " + std::string(text, len));
  }
}

class MpiTransport : public Transport {
 public:
  MpiTransport() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  // Gives queued sends up to kFlushSeconds to be received (MPI_Finalize
  // needs them complete); a rank that never receives is left to the caller,
  // which aborts the job when a worker does not stop.
  ~MpiTransport() override {
    const double deadline = MonotonicSeconds() + kFlushSeconds;
    try {
      while (!pending_.empty() && MonotonicSeconds() < deadline) {
        ReapSends();
        if (!pending_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } catch (const OrchestratorError& e) {
      LogWarn(e.what());
    }
    if (!pending_.empty()) {
      LogWarn(std::to_string(pending_.size()) + " message(s) were not received within " +
              std::to_string(static_cast<int>(kFlushSeconds)) + " s; dropping them");
      for (auto& p : pending_) MPI_Request_free(&p.request);
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // MPI_Isend, not MPI_Send: Open MPI's blocking send of a message over a
  // few hundred bytes waits until the receiving rank makes progress, so a
  // frozen worker (SIGSTOP, a hung driver call) would freeze rank 0 with
  // it, and its lease could never expire. The payload lives in pending_
  // until the send completes.
  void Send(int dest, const Message& m) override {
    pending_.push_back(PendingSend{MPI_REQUEST_NULL, m.payload});
    PendingSend& p = pending_.back();
    Check(MPI_Isend(p.payload.data(), static_cast<int>(p.payload.size()), MPI_CHAR, dest, m.tag,
                    MPI_COMM_WORLD, &p.request),
          "MPI_Isend");
    ReapSends();
  }

  bool Receive(double timeout_s, int* source, Message* m) override {
    const double deadline = MonotonicSeconds() + timeout_s;
    int sleep_us = 20;
    while (true) {
      ReapSends();
      int flag = 0;
      MPI_Status status;
      Check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
      if (flag) {
        int count = 0;
        MPI_Get_count(&status, MPI_CHAR, &count);
        m->payload.assign(count, '\0');
        m->tag = status.MPI_TAG;
        *source = status.MPI_SOURCE;
        Check(MPI_Recv(m->payload.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG,
                       MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "MPI_Recv");
        last_message_ = MonotonicSeconds();
        return true;
      }
      const double now = MonotonicSeconds();
      if (now >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
      // No busy spin: back off to 0.5 ms while messages come often (short
      // units), and to 5 ms once nothing has come for a second, so that an idle
      // rank 0 wakes 200 times a second, not 2000, on the cores the workers
      // use (issue 8: strong scaling on 2 cores).
      const int cap_us = now - last_message_ > 1.0 ? 5000 : 500;
      sleep_us = std::min(sleep_us * 2, cap_us);
    }
  }

 private:
  static constexpr double kFlushSeconds = 60.0;

  struct PendingSend {
    MPI_Request request;
    std::string payload;  // the buffer MPI reads until the send completes
  };

  // Forgets the sends that have completed (MPI_Test also drives progress).
  void ReapSends() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      Check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      it = done ? pending_.erase(it) : std::next(it);
    }
  }

  int rank_ = 0;
  int size_ = 1;
  double last_message_ = 0;  // MonotonicSeconds() of the last message received
  std::list<PendingSend> pending_;  // std::list: payload addresses stay put
};

}  // namespace

bool LaunchedUnderMpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") ||
         std::getenv("PMI_RANK");
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  Check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  int is_coordinator = world_rank == 0 ? 1 : 0, node_has_coordinator = 0;
  MPI_Allreduce(&is_coordinator, &node_has_coordinator, 1, MPI_INT, MPI_MAX, local);
  local_workers_ = std::max(1, local_size_ - node_has_coordinator);
  // Rank 0 has local rank 0 on its node (ranks are ordered by world rank).
  local_worker_index_ = std::max(0, local_rank_ - node_has_coordinator);
  MPI_Comm_free(&local);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiSession::Abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

std::unique_ptr<Transport> MpiSession::WorldTransport() { return std::make_unique<MpiTransport>(); }

}  // namespace effrobust
