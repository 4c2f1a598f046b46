// Trains the character translator on FreeDict English->German word pairs
// and prints what it achieved (exact matches, char BLEU-4, decoder steps,
// share ended on the 2000 test pairs) and the training time, then runs
// NMTSloth (default options) on the first ATTACKED test sources and prints
// their mean decoder steps clean -> adversarial: the numbers behind the
// translator's defaults.
// Usage: bench_translator CELL [PAIRS=60000] [EPOCHS=4] [THREADS=2] [OUT.pt|-] [ATTACKED=200]
//        bench_translator --attack MODEL.pt [ATTACKED=200] [CANDIDATES=16] [THREADS=2]
// (the second form loads a saved translator and only runs NMTSloth).
#include <algorithm>
#include <cstdio>
#include <string>

#include "attacks/nmtsloth.h"
#include "common/log.h"
#include "data/translation_pairs.h"
#include "models/translator_trainer.h"

using namespace effrobust;

namespace {

// Prints the greedy translation and decoder steps of each source.
void Greedy(Translator& model, const Vocabulary& vocab, const std::vector<std::string>& sources,
            int64_t max_len) {
  torch::NoGradGuard no_grad;
  GreedyResult g = model->Greedy(EncodeBatch(vocab, sources, false), max_len);
  for (size_t i = 0; i < sources.size(); ++i) {
    std::printf("  %s -> %s (%lld steps)\n", sources[i].c_str(), vocab.Decode(g.tokens[i]).c_str(),
                static_cast<long long>(g.steps[i]));
  }
}

void Attack(Translator& model, const Vocabulary& vocab, const std::vector<DictPair>& test,
            int64_t attacked, const NmtSlothOptions& options) {
  std::vector<std::string> sources;
  for (int64_t i = 0; i < attacked && i < static_cast<int64_t>(test.size()); ++i) {
    sources.push_back(test[static_cast<size_t>(i)].source);
  }
  const double a0 = MonotonicSeconds();
  NmtSlothResult r = NmtSloth(model, vocab, sources, options);
  double clean = 0, adv = 0, edits = 0;
  int64_t lengthened = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    clean += static_cast<double>(r.steps_clean[i]);
    adv += static_cast<double>(r.steps[i]);
    edits += static_cast<double>(r.edits[i]);
    lengthened += r.steps[i] > r.steps_clean[i] ? 1 : 0;
  }
  const double m = static_cast<double>(sources.size());
  std::printf(
      "NMTSloth (%lld candidates) on %zu test sources: mean steps %.2f -> %.2f (x%.2f), "
      "%lld lengthened, %.2f edits, %.1f s\n",
      static_cast<long long>(options.candidates), sources.size(), clean / m, adv / m, adv / clean,
      static_cast<long long>(lengthened), edits / m, MonotonicSeconds() - a0);
  Greedy(model, vocab,
         {r.sources.begin(), r.sources.begin() + std::min<size_t>(5, r.sources.size())},
         options.max_len);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--attack") {
    LoadedTranslator t = LoadTranslator(argv[2]);
    NmtSlothOptions o;
    o.max_len = t.max_len;
    o.candidates = argc > 4 ? std::stoll(argv[4]) : 16;
    torch::set_num_threads(argc > 5 ? std::stoi(argv[5]) : 2);
    Attack(t.model, t.vocab, LoadTranslationPairs(DefaultFreeDictDir(), "test"),
           argc > 3 ? std::stoll(argv[3]) : 200, o);
    return 0;
  }
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
  o.epochs = argc > 3 ? std::stoi(argv[3]) : 4;
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
  std::vector<std::string> first;
  for (size_t i = 0; i < 5; ++i) first.push_back(test[i].source);
  Greedy(model, vocab, first, tr.max_len);
  if (out != "-") SaveModel(out, *t.module, t.meta, true);
  if (attacked > 0) {
    NmtSlothOptions a;
    a.max_len = tr.max_len;
    Attack(model, vocab, test, attacked, a);
  }
  return 0;
}
