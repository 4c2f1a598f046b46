// Trains the character translator on FreeDict English->German word pairs
// and prints what it achieved (exact matches, char BLEU-4, decoder steps,
// share ended on the 2000 test pairs) and the training time, then runs
// NMTSloth (default options) on the first ATTACKED test sources and prints
// their mean decoder steps clean -> adversarial: the numbers behind the
// translator's defaults.
// Usage: bench_translator CELL [PAIRS=60000] [EPOCHS=3] [THREADS=2] [OUT.pt] [ATTACKED=200]
#include <cstdio>
#include <string>

#include "attacks/nmtsloth.h"
#include "common/log.h"
#include "data/translation_pairs.h"
#include "models/translator_trainer.h"

using namespace effrobust;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr, "usage: bench_translator gru|lstm [PAIRS] [EPOCHS] [THREADS] [OUT|-] [ATTACKED]\n");
    return 2;
  }
  TranslatorTrainOptions tr;
  tr.config.cell = argv[1];
  TrainOptions o;
  o.name = std::string("translator-") + argv[1];
  o.max_train = argc > 2 ? std::stoll(argv[2]) : 60000;
  o.epochs = argc > 3 ? std::stoi(argv[3]) : 3;
  o.batch_size = 64;
  torch::set_num_threads(argc > 4 ? std::stoi(argv[4]) : 2);
  const std::string out = argc > 5 ? argv[5] : "-";
  const int64_t attacked = argc > 6 ? std::stoll(argv[6]) : 200;
  const double t0 = MonotonicSeconds();
  o.progress = [&](int epoch, int64_t b, int64_t batches, double loss) {
    if (b % 200 != 0 && b != batches) return;
    std::printf("epoch %d batch %lld/%lld loss %.4f (%.0f s)\n", epoch + 1,
                static_cast<long long>(b), static_cast<long long>(batches), loss,
                MonotonicSeconds() - t0);
    std::fflush(stdout);
  };
  const std::vector<DictPair> train = LoadTranslationPairs(DefaultFreeDictDir(), "train");
  const std::vector<DictPair> test = LoadTranslationPairs(DefaultFreeDictDir(), "test");
  std::printf("%zu train pairs available, %zu test pairs (%.1f s to load)\n", train.size(),
              test.size(), MonotonicSeconds() - t0);
  TrainedModel t = TrainTranslator(train, test, o, tr);
  std::printf("%s\ntrained and evaluated in %.0f s\n", t.summary.c_str(), t.meta.train_seconds);
  Translator model(std::dynamic_pointer_cast<TranslatorImpl>(t.module));
  const Vocabulary vocab = Vocabulary::FromTokens(t.meta.vocabulary, true);
  {
    torch::NoGradGuard no_grad;
    GreedyResult g = model->Greedy(
        EncodeBatch(vocab, {test[0].source, test[1].source, test[2].source, test[3].source}, false),
        tr.max_len);
    for (size_t i = 0; i < 4; ++i) {
      std::printf("  %s -> %s (reference %s)\n", test[i].source.c_str(),
                  vocab.Decode(g.tokens[i]).c_str(), test[i].target.c_str());
    }
  }
  if (out != "-") SaveModel(out, *t.module, t.meta, true);
  if (attacked > 0) {
    std::vector<std::string> sources;
    for (int64_t i = 0; i < attacked && i < static_cast<int64_t>(test.size()); ++i) {
      sources.push_back(test[static_cast<size_t>(i)].source);
    }
    const double a0 = MonotonicSeconds();
    NmtSlothResult r = NmtSloth(model, vocab, sources, NmtSlothOptions());
    double clean = 0, adv = 0, edits = 0;
    for (size_t i = 0; i < sources.size(); ++i) {
      clean += static_cast<double>(r.steps_clean[i]);
      adv += static_cast<double>(r.steps[i]);
      edits += static_cast<double>(r.edits[i]);
    }
    const double m = static_cast<double>(sources.size());
    std::printf(
        "NMTSloth on %zu test sources: mean steps %.2f -> %.2f (x%.2f), %.2f edits, "
        "%.1f s\n",
        sources.size(), clean / m, adv / m, adv / clean, edits / m, MonotonicSeconds() - a0);
    for (size_t i = 0; i < 5 && i < sources.size(); ++i) {
      std::printf("  %s (%lld steps) -> %s (%lld steps)\n", sources[i].c_str(),
                  static_cast<long long>(r.steps_clean[i]), r.sources[i].c_str(),
                  static_cast<long long>(r.steps[i]));
    }
  }
  return 0;
}
