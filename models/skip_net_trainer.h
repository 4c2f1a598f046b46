// Training of the gated SkipNet (models/skip_net.h) on Fashion-MNIST.
// Schedule (fractions of all training steps):
//  * warm-up (first 30 %): gates off the path; each gated block is dropped
//    per sample with probability 0.25 (stochastic depth), so every block
//    learns to be useful and the network learns to tolerate skipping;
//  * gating (rest): straight-through hard gates (forward: run iff
//    P(run) > 0.5; backward: d/dP) trained jointly with the network on
//    cross-entropy + kComputeWeight * max(0, u - kTargetUsage), where u is
//    the batch mean of the executed share of gated-block FLOPs
//    (sum_j mask_j * flops_j / sum_j flops_j), so gates are pushed off until
//    at most kTargetUsage of the gated FLOPs run, then cross-entropy decides.
// Afterwards test accuracy with the gates deciding (acc_dynamic), with every
// block forced on (acc_all_blocks) and forced off (acc_no_gated_blocks),
// the skipped share of gated-block FLOPs and mean blocks run are measured on
// the test split and stored in meta.stats. The caller sets torch's thread
// count; deterministic for a fixed seed and thread count.
#ifndef EFFROBUST_MODELS_SKIP_NET_TRAINER_H_
#define EFFROBUST_MODELS_SKIP_NET_TRAINER_H_

#include "data/fashion_mnist.h"
#include "models/skip_net.h"
#include "models/trainer.h"

namespace effrobust {

// Trains on train[0, count - validation_size) (options.max_train limits
// it), measures on test[0, max_test). options.config gives the input shape
// and class count; the SkipNet widths are `config`'s. Throws ModelError on
// invalid options or a data set that does not fit. meta.arch = "skip_net".
TrainedModel TrainSkipNet(const ImageSet& train, const ImageSet& test, const TrainOptions& options,
                          SkipNetConfig config = SkipNetConfig());

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_SKIP_NET_TRAINER_H_
