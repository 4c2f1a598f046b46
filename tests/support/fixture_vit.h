// TrainFixtureVit: the small adaptive-token ViT the unit tests train — patch 7
// (16 tokens), 4 blocks, halting sigmoid(10 e0 - 10), ponder weight 0.15, 2
// epochs on 4 000 Fashion-MNIST training images (seconds), evaluated on the
// first 500 test images. Not the default 49-token model of `effrobust train`,
// which takes minutes; tests here pin mechanisms, not the deployed model.
// Header-only (needs torch and the models library).
#ifndef EFFROBUST_TESTS_SUPPORT_FIXTURE_VIT_H_
#define EFFROBUST_TESTS_SUPPORT_FIXTURE_VIT_H_

#include "data/fashion_mnist.h"
#include "models/adaptive_vit_trainer.h"

namespace effrobust {

inline TrainedModel TrainFixtureVit(const ImageSet& train, const ImageSet& test) {
  TrainOptions opt;
  opt.epochs = 2;
  opt.max_train = 4000;
  opt.max_test = 500;
  opt.validation_size = 1000;
  opt.seed = 7;
  opt.batch_size = 64;
  AdaptiveVitTrainOptions vit;
  vit.config.patch = 7;
  vit.config.depth = 4;
  vit.ponder_weight = 0.15;
  vit.config.gate_scale = 10;
  vit.config.gate_center = 10;
  return TrainAdaptiveVit(train, test, opt, vit);
}

}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_FIXTURE_VIT_H_
