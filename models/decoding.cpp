#include "models/decoding.h"

#include <string>

#include "common/error.h"
#include "data/vocabulary.h"

namespace effrobust {

GreedyResult GreedyDecode(int64_t batch, const torch::Device& device, int64_t max_len,
                          const GreedyStep& step) {
  if (max_len < 1) throw ModelError("max_len must be >= 1, got " + std::to_string(max_len));
  const int64_t b = batch;
  torch::Tensor tokens =
      torch::full({b}, Vocabulary::kStart, torch::dtype(torch::kInt64).device(device));
  GreedyResult r;
  r.tokens.assign(static_cast<size_t>(b), {});
  r.steps.assign(static_cast<size_t>(b), 0);
  r.ended.assign(static_cast<size_t>(b), false);
  std::vector<bool> running(static_cast<size_t>(b), true);
  int64_t alive = b;
  std::vector<torch::Tensor> logits;
  for (int64_t t = 0; t < max_len && alive > 0; ++t) {
    torch::Tensor l = step(tokens);
    logits.push_back(l);
    tokens = l.argmax(1).detach();
    torch::Tensor host = tokens.cpu();
    const int64_t* next = host.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) {
      if (!running[i]) continue;
      ++r.steps[i];
      if (next[i] == Vocabulary::kEnd) {
        r.ended[i] = true;
        running[i] = false;
        --alive;
      } else {
        r.tokens[i].push_back(next[i]);
      }
    }
  }
  r.logits = torch::stack(logits, 1);
  return r;
}

}  // namespace effrobust
