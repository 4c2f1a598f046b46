// An input stage: what a deployed model runs every image through before
// its first layer, e.g. a defense's transform with BPDA while an adaptive
// attack optimises through it (issue 7 §1). The captioner and the detectors
// hold one (set_input_stage); it is not part of the saved model.
// Header-only. Thread-safety: like the model holding it.
#ifndef EFFROBUST_MODELS_INPUT_STAGE_H_
#define EFFROBUST_MODELS_INPUT_STAGE_H_

#include <torch/torch.h>

#include <functional>
#include <utility>

namespace effrobust {

// Images [B, C, H, W] in, images of the same shape out; empty: identity.
using InputStage = std::function<torch::Tensor(const torch::Tensor&)>;

namespace input_stage_internal {

// model->set_input_stage(stage) for a module holder (Captioner, Detector),
// else model.set_input_stage(stage) (e.g. a CaptioningVictim or DetectionVictim).
template <typename Model>
auto Set(Model& model, InputStage stage, int)
    -> decltype(model->set_input_stage(std::move(stage)), void()) {
  model->set_input_stage(std::move(stage));
}
template <typename Model>
void Set(Model& model, InputStage stage, long) {
  model.set_input_stage(std::move(stage));
}

}  // namespace input_stage_internal

// Sets `stage` on `model` (a module holder with set_input_stage, or an
// object with one, such as a CaptioningVictim or DetectionVictim) for the
// guard's lifetime and clears it after.
template <typename Model>
class InputStageGuard {
 public:
  InputStageGuard(Model& model, InputStage stage) : model_(model) {
    input_stage_internal::Set(model_, std::move(stage), 0);
  }
  ~InputStageGuard() { input_stage_internal::Set(model_, nullptr, 0); }
  InputStageGuard(const InputStageGuard&) = delete;
  InputStageGuard& operator=(const InputStageGuard&) = delete;

 private:
  Model& model_;
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_INPUT_STAGE_H_
