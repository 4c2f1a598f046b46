// Captioners brought as TorchScript files ("bring your own model", issue 9):
// a module scripted in PyTorch that follows the "captioning" contract of
// docs/model-contract.md, loaded as a CaptioningVictim. The module supplies
// the encoder and one decoder step; the greedy loop and its stop rule
// (models/decoding.h), the input stage, the attack and the meters are
// effrobust's own, as for the built-in captioner.
//
// Contract: attributes `effrobust_family: str = "captioning"`,
// `in_channels: int`, `image_size: int`, `max_len: int` (the greedy
// decoding limit), `vocabulary: List[str]` (<pad>, <start>, <end>, <unk>,
// then the word tokens); methods
//   encode(images [B, in_channels, image_size, image_size] in [0, 1])
//       -> Tensor features [B, R, D]
//   init_state(features) -> List[Tensor] (the decoder state)
//   decode_step(features, tokens [B] int64, state: List[Tensor])
//       -> Tuple[Tensor logits [B, len(vocabulary)], List[Tensor] state]
// all differentiable with respect to the images.
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_TORCHSCRIPT_CAPTIONER_H_
#define EFFROBUST_MODELS_TORCHSCRIPT_CAPTIONER_H_

#include <memory>
#include <string>
#include <vector>

#include "models/captioning_victim.h"

namespace effrobust {

// The datasets a scripted captioner can declare (the YAML `dataset`):
// fashion-mnist-scenes (then in_channels 1, image_size 64, the scenes'
// canvas) and captions-json (in_channels 1 or 3, any image_size; the
// images are decoded and resized to it).
const std::vector<std::string>& TorchScriptCaptionerDatasets();

// Loads the scripted captioner at `path` and checks its contract up front:
// the attributes and methods are there with the right types, the
// vocabulary starts with the specials, and encode / init_state / two
// decode_steps on 2 zero images of the declared size return what the
// contract says. The module is in eval mode with parameters frozen. A
// non-empty `dataset` must be one of TorchScriptCaptionerDatasets() and fit
// the declared in_channels and image_size. Throws ModelError naming the
// file, the family and what is missing or wrong (and what was expected);
// later calls of the returned victim throw ModelError naming the file and
// the method if the module fails or breaks the contract.
std::unique_ptr<CaptioningVictim> LoadTorchScriptCaptioner(const std::string& path,
                                                           const std::string& dataset = "");

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_TORCHSCRIPT_CAPTIONER_H_
