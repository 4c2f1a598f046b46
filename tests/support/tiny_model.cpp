#include "tests/support/tiny_model.h"

#include <torch/torch.h>

#include "models/checkpoint.h"
#include "models/multi_exit_cnn.h"

namespace effrobust {

void WriteTinyModel(const std::string& path, int64_t seed) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  MultiExitConfig config;
  config.channels = {4, 8, 8};
  MultiExitCnn model(config);
  model->eval();
  ModelMetadata meta;
  meta.name = "tiny-untrained";
  meta.config = config;
  meta.exit_flops = model->ExitFlops();
  meta.exit_accuracy.assign(meta.exit_flops.size(), 0.1);
  meta.full_accuracy = 0.1;
  meta.thresholds = {{"rad5", 0.5}, {"rad15", 0.4}};
  meta.threshold_val_accuracy = {{"rad5", 0.1}, {"rad15", 0.1}};
  meta.seed = seed;
  meta.epochs = 0;
  meta.created_at = "2026-01-01T00:00:00Z";
  SaveModel(path, model, meta, /*overwrite=*/true);
}

}  // namespace effrobust
