// `effrobust status`: counts of units by status, throughput and ETA of the
// latest run, read from the index over a read-only connection (safe while
// a run is writing). Torch-free.
#ifndef EFFROBUST_ORCHESTRATOR_STATUS_H_
#define EFFROBUST_ORCHESTRATOR_STATUS_H_

#include <string>

namespace effrobust {

// Text report for RUN_DIR. Throws ResultsError if RUN_DIR has no index.
std::string RenderStatus(const std::string& run_dir);

}  // namespace effrobust

#endif  // EFFROBUST_ORCHESTRATOR_STATUS_H_
