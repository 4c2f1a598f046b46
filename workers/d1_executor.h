// The executor for D1 early-exit units: loads the multi-exit model and the
// dataset slice (cached across units), runs the attack in batches, measures
// every sample clean and adversarial at each RAD threshold (exit, FLOPs,
// batch-1 dynamic-inference latency, norms), appends the rows and returns
// the unit summary. The header is torch-free; the implementation uses torch.
#ifndef EFFROBUST_WORKERS_D1_EXECUTOR_H_
#define EFFROBUST_WORKERS_D1_EXECUTOR_H_

#include <memory>
#include <string>

#include "workers/device.h"
#include "workers/worker_loop.h"

namespace effrobust {

std::unique_ptr<UnitExecutor> MakeD1Executor(const ExecutorPlacement& placement);

// "1.13.1" — the LibTorch version compiled against.
std::string TorchVersion();

struct TrainRequest {
  std::string out_path;        // checkpoint path (its .json sidecar too)
  std::string arch = "multi_exit_cnn";  // see KnownArchs()
  std::string name;            // "" = the arch's default name
  std::string data_dir;        // "" = DefaultFashionMnistDir()
  int epochs = 2;
  int64_t seed = 1;
  int threads = 0;             // 0 = all cores
  int64_t max_train = 0;       // 0 = all
  bool force = false;          // overwrite an existing checkpoint
  // adaptive_vit only (0 / negative = the AdaptiveVitConfig /
  // AdaptiveVitTrainOptions default); ModelError for another arch.
  int64_t vit_patch = 0;        // patch side in pixels (must divide the image side)
  int64_t vit_depth = 0;        // transformer blocks
  double vit_ponder_weight = -1;  // weight of the ponder cost in the training loss
  double vit_gate_scale = -1;     // halting score sigmoid(gate_scale * e0 - gate_center)
  double vit_gate_center = -1;
  // captioner / translator only (""/0 = default); ModelError for another arch.
  std::string cell;             // decoder cell: lstm or gru
  int64_t scenes = 0;           // captioner / detector: training scenes (0 = the trainer default)
  // Adversarial training (models/adversarial_training.h; multi_exit_cnn,
  // captioner, detector): "" = standard training, "pgd" or "efficiency".
  // ModelError for another arch or out-of-range values; recorded in the
  // checkpoint's metadata ("adversarial").
  std::string adversarial;
  double at_epsilon = 8.0 / 255;  // L-inf radius
  double at_step = 2.0 / 255;     // sign step of the inner loop
  int64_t at_steps = 10;          // inner iterations
  double at_mix = 0.5;            // adversarial share of each batch's loss
};

// Trains the requested arch and saves it; prints progress and a summary
// (multi-exit CNN: per-exit accuracy, FLOPs, thresholds, clean mean exit and
// FLOPs share at each threshold; captioner: items named right, BLEU-4,
// steps; detector: AP, boxes per image; time; the adversarial training if
// any). Throws ModelError/DataError.
void TrainAndSaveModel(const TrainRequest& request);

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_D1_EXECUTOR_H_
