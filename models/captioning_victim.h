// The captioner an attack or the D2 executor works on (issue 9): what
// NICGSlowDown, the defenses and the executor need from an image
// captioner, whichever its implementation — effrobust's own attention
// captioner (CaptionerVictim, below) or a module scripted in PyTorch
// (models/torchscript_captioner.h). Images are [B, in_channels(),
// image_size(), image_size()] in [0, 1]; token ids are those of
// vocabulary() (data/vocabulary.h: <pad> 0, <start> 1, <end> 2, <unk> 3).
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_CAPTIONING_VICTIM_H_
#define EFFROBUST_MODELS_CAPTIONING_VICTIM_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "data/vocabulary.h"
#include "models/captioner.h"
#include "models/decoding.h"
#include "models/input_stage.h"

namespace effrobust {

struct LoadedCaptioner;

class CaptioningVictim {
 public:
  virtual ~CaptioningVictim() = default;

  // Greedy decoding of `images` from <start> until <end> or max_len tokens;
  // each sample stops on its own (models/decoding.h). The input stage, if
  // set, is applied to the images first. The logits keep the graph to the
  // images unless called under NoGradGuard. Throws ModelError for
  // max_len < 1 or images the model cannot take.
  virtual GreedyResult Greedy(const torch::Tensor& images, int64_t max_len) = 0;

  // The encoder's region features [B, R, D] of `images` (what the input
  // detector defense summarises by their mean and max over R). Throws
  // ModelError for images the model cannot take.
  virtual torch::Tensor RegionFeatures(const torch::Tensor& images) = 0;

  virtual int64_t in_channels() const = 0;
  virtual int64_t image_size() const = 0;
  // The model's tokens (ids 0..3 the specials).
  virtual const Vocabulary& vocabulary() const = 0;
  // The greedy decoding limit the model is deployed with.
  virtual int64_t max_len() const = 0;

  // Every image goes through `stage` first (models/input_stage.h); nullptr
  // removes it.
  virtual void set_input_stage(InputStage stage) = 0;

  // The parameters, train/eval mode and device of the model: eval() before
  // attacking; parameters() to freeze them; to(device) to move it. The
  // reference stays valid for the victim's lifetime.
  virtual torch::nn::Module& module() = 0;
};

// effrobust's attention captioner as a CaptioningVictim: the same module
// (shared, not copied), so Greedy and the input stage are exactly
// CaptionerImpl's; RegionFeatures is CaptionerImpl::Regions.
class CaptionerVictim : public CaptioningVictim {
 public:
  // `vocab` and `max_len` as saved with the model (LoadedCaptioner).
  CaptionerVictim(Captioner model, Vocabulary vocab, int64_t max_len);
  // A loaded checkpoint (shares loaded.model).
  explicit CaptionerVictim(const LoadedCaptioner& loaded);
  // For callers that need neither the vocabulary nor max_len (an attack on
  // a freshly trained module): vocabulary() holds only the specials,
  // max_len() is 60.
  explicit CaptionerVictim(Captioner model);

  GreedyResult Greedy(const torch::Tensor& images, int64_t max_len) override;
  torch::Tensor RegionFeatures(const torch::Tensor& images) override;
  int64_t in_channels() const override { return 1; }
  int64_t image_size() const override { return model_->config().image_size; }
  const Vocabulary& vocabulary() const override { return vocab_; }
  int64_t max_len() const override { return max_len_; }
  void set_input_stage(InputStage stage) override { model_->set_input_stage(std::move(stage)); }
  torch::nn::Module& module() override { return *model_; }

  Captioner& model() { return model_; }

 private:
  Captioner model_;
  Vocabulary vocab_;
  int64_t max_len_;
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_CAPTIONING_VICTIM_H_
