#include "models/captioning_victim.h"

#include <utility>

#include "models/captioner_trainer.h"

namespace effrobust {

CaptionerVictim::CaptionerVictim(Captioner model, Vocabulary vocab, int64_t max_len)
    : model_(std::move(model)), vocab_(std::move(vocab)), max_len_(max_len) {}

CaptionerVictim::CaptionerVictim(const LoadedCaptioner& loaded)
    : CaptionerVictim(loaded.model, loaded.vocab, loaded.max_len) {}

CaptionerVictim::CaptionerVictim(Captioner model)
    : CaptionerVictim(std::move(model), Vocabulary::FromTexts({}), 60) {}

GreedyResult CaptionerVictim::Greedy(const torch::Tensor& images, int64_t max_len) {
  return model_->Greedy(images, max_len);
}

torch::Tensor CaptionerVictim::RegionFeatures(const torch::Tensor& images) {
  return model_->Regions(images);
}

}  // namespace effrobust
