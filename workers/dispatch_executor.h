// The worker's UnitExecutor: runs each unit with the executor of its model's
// family -- the D1 executor for classifier victims (early exit, gated skip,
// adaptive token), the D2 executor for decoders (captioning, translation),
// the D3 executor for detectors (detection + tracking).
// The family comes from the arch in the checkpoint's metadata, read once per
// model file. held_model() is the model of the executor that ran last.
// The header is torch-free. Thread-safety: one executor per worker thread.
#ifndef EFFROBUST_WORKERS_DISPATCH_EXECUTOR_H_
#define EFFROBUST_WORKERS_DISPATCH_EXECUTOR_H_

#include <memory>
#include <string>

#include "workers/device.h"
#include "workers/worker_loop.h"

namespace effrobust {

std::unique_ptr<UnitExecutor> MakeWorkerExecutor(const ExecutorPlacement& placement);

// Loads the checkpoint at `path` as the worker will for a unit on `dataset`
// ("" = not checked): a classifier victim (workers/d1_executor.h) or a
// decoder (workers/d2_executor.h) or a detector (workers/d3_executor.h), by
// its arch. Throws ModelError saying
// what is wrong (missing, truncated or foreign file, unknown arch, another
// dataset, parameters that do not fit). The orchestrator's ModelValidator at
// plan/run start.
// A TorchScript victim file is loaded as LoadTorchScriptVictim does, as
// LoadTorchScriptCaptioner if it declares the captioning family, or as
// LoadTorchScriptDetector if it declares detection.
void CheckModelLoads(const std::string& path, const std::string& dataset);

// Loads the TorchScript victim at `path`, which must declare `family`, and
// checks its contract for `dataset` (models/torchscript_victim.h; for
// captioning models/torchscript_captioner.h, for detection
// models/torchscript_detector.h). Throws ModelError. The
// orchestrator's TorchScriptValidator.
void CheckTorchScriptModelLoads(const std::string& path, const std::string& family,
                                const std::string& dataset);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_DISPATCH_EXECUTOR_H_
