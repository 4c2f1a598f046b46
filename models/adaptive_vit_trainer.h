// Training of the adaptive-token ViT on Fashion-MNIST. Two phases: a plain
// ViT (halting off) for the first pretrain epochs, then fine-tuning with
// halting on, loss = cross-entropy(halting output) + ponder_weight * mean
// token ponder cost (+ prior_weight * A-ViT's distribution-prior KL), and a
// cross-entropy on the halting-off output (weight nohalt_weight) so the same
// network stays accurate with halting disabled. Adam. Measures on the test
// split: accuracy with and without halting and the mean token depth.
// Deterministic for a fixed seed and thread count; the caller sets torch's
// thread count.
#ifndef EFFROBUST_MODELS_ADAPTIVE_VIT_TRAINER_H_
#define EFFROBUST_MODELS_ADAPTIVE_VIT_TRAINER_H_

#include "data/fashion_mnist.h"
#include "models/adaptive_vit.h"
#include "models/trainer.h"

namespace effrobust {

struct AdaptiveVitTrainOptions {
  AdaptiveVitConfig config;     // in_channels/image_size/num_classes taken from the data
  int pretrain_epochs = -1;     // Default: -1 = epochs / 2 (at least 1 fine-tuning epoch)
  double ponder_weight = 0.05;  // Default: 0.05 per unit of mean rho
  double prior_weight = 0.0;    // Default: 0 (no distribution prior)
  double prior_depth = 2.0;     // Default: 2 blocks (target of the prior)
  double nohalt_weight = 0.5;   // Default: 0.5
};

// Trains on train[0, count - validation_size) (capped by max_train) and
// evaluates on test[0, max_test). meta.arch = "adaptive_vit"; meta.stats:
// acc_halting, acc_no_halting, acc_pretrain, token_depth, flops_clean,
// flops_full. Throws ModelError on invalid options or mismatching data.
TrainedModel TrainAdaptiveVit(const ImageSet& train, const ImageSet& test,
                              const TrainOptions& options,
                              const AdaptiveVitTrainOptions& vit = AdaptiveVitTrainOptions());

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_ADAPTIVE_VIT_TRAINER_H_
