// Training of the multi-exit CNN on Fashion-MNIST: all exits trained jointly
// with SDN-style loss weights (final exit 1; internal exit i ramps from 0.01
// to min(0.9, 0.15 (i+1)) over training), Adam, then per-exit test accuracy
// and RAD 5 % / 15 % thresholds chosen on a held-out validation split.
// The caller sets torch's thread count.
#ifndef EFFROBUST_MODELS_TRAINER_H_
#define EFFROBUST_MODELS_TRAINER_H_

#include <functional>
#include <memory>
#include <string>

#include "data/fashion_mnist.h"
#include "models/checkpoint.h"

namespace effrobust {

// A training batch's supervised loss (a scalar) as a function of its images.
using BatchLoss = std::function<torch::Tensor(const torch::Tensor& images)>;

// Computes a batch's training loss from the module being trained (in train
// mode, and left so), the batch's clean images and its BatchLoss; see
// TrainOptions::adversarial.
using TrainingLossHook = std::function<torch::Tensor(
    torch::nn::Module& model, const torch::Tensor& images, const BatchLoss& loss_of)>;

struct TrainOptions {
  std::string name = "sdn-fmnist";   // Default: "sdn-fmnist"
  int epochs = 2;                    // Default: 2
  int64_t batch_size = 128;          // Default: 128
  double lr = 1e-3;                  // Default: 1e-3 (Adam)
  int64_t seed = 1;                  // Default: 1
  int64_t validation_size = 5000;    // Default: last 5000 training images
  // Limits for fast tests: 0 = use all.
  int64_t max_train = 0;             // Default: 0
  int64_t max_test = 0;              // Default: 0
  MultiExitConfig config;
  // Called every ~50 batches with (epoch, batch, batches per epoch, loss).
  std::function<void(int, int64_t, int64_t, double)> progress;
  // Adversarial training (models/adversarial_training.h): when set, the
  // multi-exit, captioner (decoder phase) and detector trainers take each
  // batch's loss from this hook instead of loss_of(images). Default: unset.
  TrainingLossHook adversarial;
};

struct TrainResult {
  MultiExitCnn model{nullptr};
  ModelMetadata meta;
};

// A trained model of any arch, ready for SaveModel, with a one-line
// human-readable summary of what training achieved.
struct TrainedModel {
  std::shared_ptr<torch::nn::Module> module;
  ModelMetadata meta;
  std::string summary;
};

// Trains on train[0, 60000 - validation_size), picks thresholds on the
// validation split, measures per-exit accuracy on the test split.
// Deterministic for a fixed seed and thread count.
TrainResult TrainMultiExit(const ImageSet& train, const ImageSet& test,
                           const TrainOptions& options);

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_TRAINER_H_
