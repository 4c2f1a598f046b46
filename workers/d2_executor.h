// The executor for D2 units (autoregressive decoders, whose cost is the
// number of decoding steps): captioners on fashion-mnist-scenes attacked by
// NICGSlowDown, translators on freedict-eng-deu attacked by NMTSloth, and
// the clean baseline of both. It loads the unit's model (kept across units
// of the same model), builds the unit's inputs, runs the attack in batches
// of measure.batch_size, then decodes every clean and adversarial input
// greedily at batch 1 (steps, tokens, <end>, p(<end>), output text, median
// latency), appends the rows (evaluation/d2_summary.h lists the columns)
// and returns the unit summary plus corpus BLEU-4 of the clean and the
// adversarial outputs. The attacks are deterministic: no random stream is
// drawn. Translators run on the CPU whatever the worker's device (NMTSloth
// builds its inputs there; the models are small). The header is torch-free;
// the implementation uses torch.
// Thread-safety: one executor per worker thread.
#ifndef EFFROBUST_WORKERS_D2_EXECUTOR_H_
#define EFFROBUST_WORKERS_D2_EXECUTOR_H_

#include <memory>
#include <string>

#include "workers/device.h"
#include "workers/worker_loop.h"

namespace effrobust {

std::unique_ptr<UnitExecutor> MakeD2Executor(const ExecutorPlacement& placement);

// Loads the decoder checkpoint at `path` as the D2 executor will: arch
// captioner or translator, trained on `dataset` ("" = not checked).
// Throws ModelError saying what is wrong.
void CheckDecoderModelLoads(const std::string& path, const std::string& dataset);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_D2_EXECUTOR_H_
