// The executor for D3 units (a detector feeding a tracker, whose cost grows
// with the boxes it emits): a detection victim (models/detection_victim.h:
// the built-in grid detector on fashion-mnist-sequences, or a TorchScript
// detector, models/torchscript_detector.h, on fashion-mnist-sequences or
// mot17), clean or attacked by Overload, Phantom Sponges or SlowTrack. It
// loads the unit's detector (kept across units of the same model), reads
// the unit's sequences (workers/d3_sequences.h: generated, or sample i = the
// i-th sequence folder of the mot17 root's split, at the detector's image
// size, unit.max_frames frames at most), attacks each sequence's frames
// (the universal Phantom Sponge is fitted on the first fit_sequences
// sequences of the same dataset's train split), then runs the clean and the
// adversarial frames through the pipeline (models/detect_and_track.h: batch
// 1 per frame, confidence threshold + NMS, a fresh ByteTrack-style tracker
// per sequence) at every threshold of D3Thresholds(). Rows: one per
// (sequence, threshold, frame), columns in evaluation/d3_summary.h plus
// real l2 and linf (the frame's perturbation: Euclidean norm and largest
// |change|). Metrics: SummarizeD3 plus, per threshold tag, CLEAR MOT of
// the clean and the adversarial tracks against the ground truth (objects
// at least half visible; on mot17 the considered pedestrians, label 0) and
// of the adversarial tracks against the clean run's (pseudo ground truth,
// as the paper), AP at IoU 0.5 / 0.75 likewise, and tracks started per
// sequence. The attacks are
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

// Loads the detector checkpoint or TorchScript detector at `path` as the D3
// executor will; its units read `dataset` ("" = not checked; a scripted
// detector is checked against it as LoadTorchScriptDetector does). Throws
// ModelError saying what is wrong.
void CheckDetectorModelLoads(const std::string& path, const std::string& dataset);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_D3_EXECUTOR_H_
