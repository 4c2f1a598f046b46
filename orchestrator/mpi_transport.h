// MPI implementation of Transport over MPI_COMM_WORLD. The header includes
// no MPI header. MpiSession initialises MPI (MPI_Init_thread, FUNNELED) and
// finalises it on destruction (collective over MPI_COMM_WORLD).
#ifndef EFFROBUST_ORCHESTRATOR_MPI_TRANSPORT_H_
#define EFFROBUST_ORCHESTRATOR_MPI_TRANSPORT_H_

#include <memory>

#include "orchestrator/transport.h"

namespace effrobust {

// True if this process was started by an MPI launcher (mpirun, srun with
// PMIx): then MPI must be initialised to talk to the other ranks.
bool LaunchedUnderMpi();

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);  // collective
  ~MpiSession();                        // collective (MPI_Finalize)
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // Aborts every rank (MPI_Abort) with `code`; used when rank 0 fails.
  static void Abort(int code);

  // Ranks on this node and this rank's index among them
  // (MPI_Comm_split_type SHARED; collective on first call).
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // Worker ranks on this node (rank 0 excluded) and this rank's index among
  // them; used for GPU choice (local index mod device count) and threads.
  int local_workers() const { return local_workers_; }
  int local_worker_index() const { return local_worker_index_; }

  std::unique_ptr<Transport> WorldTransport();

 private:
  int local_rank_ = 0;
  int local_size_ = 1;
  int local_workers_ = 1;
  int local_worker_index_ = 0;
};

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_MPI_TRANSPORT_H_
