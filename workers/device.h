// The torch device and thread count a worker process uses, chosen once from
// the run options and the worker's place on its node; shared by the D1 and
// D2 executors. Torch stays in the implementation; this header is
// torch-free. Not thread-safe (sets process-wide torch state).
#ifndef EFFROBUST_WORKERS_DEVICE_H_
#define EFFROBUST_WORKERS_DEVICE_H_

#include <string>

#include "orchestrator/protocol.h"

namespace effrobust {

struct ExecutorPlacement {
  int local_index = 0;    // this worker's index among workers on its node
  int local_workers = 1;  // workers on this node (for auto thread counts)
};

struct WorkerDevice {
  std::string device = "cpu";  // torch device string: "cpu", "cuda:1"
  std::string name;            // CPU model or GPU name
  int threads = 1;             // torch intra-op threads
};

// Sets torch's thread count (options.threads; 0 = $SLURM_CPUS_PER_TASK,
// else the node's cores / local_workers) and picks the device (cpu, or the
// CUDA device local_index modulo the count unless options.device is
// "cpu"); logs the choice. Throws WorkerError if options.device is "cuda"
// and no CUDA device is available.
WorkerDevice ConfigureWorkerDevice(const RunOptions& options, const ExecutorPlacement& placement);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_DEVICE_H_
