// The executor for D2 units (autoregressive decoders, whose cost is the
// number of decoding steps): captioners attacked by NICGSlowDown,
// translators on freedict-eng-deu attacked by NMTSloth, and the clean
// baseline of both. A captioner is effrobust's own (a checkpoint) or a
// TorchScript file of family captioning (models/torchscript_captioner.h),
// both seen as a CaptioningVictim, so the attack and the defenses run
// unchanged on either; its units run on fashion-mnist-scenes or, for a
// scripted captioner, captions-json (sample i of a unit is the i-th entry
// of the unit's split in the JSON `data_json`, its image under `data_path`
// decoded and resized to the model's input; BLEU references are the
// entry's sentences). It loads the unit's model (kept across units
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

// Loads the decoder at `path` as the D2 executor will: a checkpoint of
// arch captioner or translator, trained on `dataset` ("" = not checked), or
// a TorchScript captioner whose contract fits `dataset`
// (LoadTorchScriptCaptioner). Throws ModelError saying what is wrong.
void CheckDecoderModelLoads(const std::string& path, const std::string& dataset);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_D2_EXECUTOR_H_
