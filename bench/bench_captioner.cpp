// Trains an attention captioner on Fashion-MNIST scenes and prints what it
// achieved (share of test scenes whose caption names the right items,
// BLEU-4, decoder steps) and the training time: the numbers behind the
// captioner's defaults.
// Usage: bench_captioner CELL [TRAIN_SCENES=20000] [EPOCHS=4] [THREADS=2] [OUT.pt]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"
#include "data/fashion_mnist.h"
#include "models/captioner_trainer.h"

using namespace effrobust;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_captioner lstm|gru [TRAIN_SCENES] [EPOCHS] [THREADS] [OUT]\n");
    return 2;
  }
  CaptionerTrainOptions cap;
  cap.config.cell = argv[1];
  cap.train_scenes = argc > 2 ? std::stoll(argv[2]) : 20000;
  if (const char* p = std::getenv("PHRASING")) cap.phrasing = std::stoll(p);
  if (const char* e = std::getenv("ENCODER_EPOCHS")) cap.encoder_epochs = std::stoll(e);
  TrainOptions o;
  o.name = std::string("caption-") + argv[1];
  o.epochs = argc > 3 ? std::stoi(argv[3]) : 4;
  o.batch_size = 64;
  torch::set_num_threads(argc > 4 ? std::stoi(argv[4]) : 2);
  const double t0 = MonotonicSeconds();
  o.progress = [&](int epoch, int64_t b, int64_t batches, double loss) {
    std::printf("epoch %d batch %lld/%lld loss %.4f (%.0f s)\n", epoch + 1,
                static_cast<long long>(b), static_cast<long long>(batches), loss,
                MonotonicSeconds() - t0);
    std::fflush(stdout);
  };
  ImageSet train = LoadFashionMnist(DefaultFashionMnistDir(), "train");
  ImageSet test = LoadFashionMnist(DefaultFashionMnistDir(), "test");
  TrainedModel t = TrainCaptioner(train, test, o, cap);
  std::printf("%s\ntrained in %.0f s\n", t.summary.c_str(), t.meta.train_seconds);
  if (argc > 5) SaveModel(argv[5], *t.module, t.meta, true);
  return 0;
}
