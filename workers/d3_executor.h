// The executor for D3 units (a detector feeding a tracker, whose cost grows
// with the boxes it emits): the grid detector on fashion-mnist-sequences,
// clean or attacked by Overload, Phantom Sponges or SlowTrack. It loads the
// unit's detector (kept across units of the same model), draws the unit's
// sequences, attacks each sequence's frames, then runs the clean and the
// adversarial frames through the pipeline (models/detect_and_track.h: batch
// 1 per frame, confidence threshold + NMS, a fresh ByteTrack-style tracker
// per sequence) at every threshold of D3Thresholds(). Rows: one per
// (sequence, threshold, frame), columns in evaluation/d3_summary.h plus
// real l2 and linf (the frame's perturbation: Euclidean norm and largest
// |change|). Metrics: SummarizeD3 plus, per threshold tag, CLEAR MOT of
// the clean and the adversarial tracks against the generator's ground
// truth (objects at least half visible) and of the adversarial tracks
// against the clean run's (pseudo ground truth, as the paper), AP at IoU
// 0.5 / 0.75 likewise, and tracks started per sequence. The attacks are
// deterministic. With measure.store_adversarial each row carries its
// adversarial frame. The header is torch-free.
// Thread-safety: one executor per worker thread.
#ifndef EFFROBUST_WORKERS_D3_EXECUTOR_H_
#define EFFROBUST_WORKERS_D3_EXECUTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "workers/device.h"
#include "workers/worker_loop.h"

namespace effrobust {

std::unique_ptr<UnitExecutor> MakeD3Executor(const ExecutorPlacement& placement);

// The confidence thresholds every D3 unit measures at (the paper's 0.25,
// 0.5, 0.75).
const std::vector<double>& D3Thresholds();

// Loads the detector checkpoint at `path` as the D3 executor will; its
// units read `dataset` ("" = not checked). Throws ModelError saying what is
// wrong.
void CheckDetectorModelLoads(const std::string& path, const std::string& dataset);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_D3_EXECUTOR_H_
