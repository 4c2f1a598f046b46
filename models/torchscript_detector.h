// D3 detectors brought as TorchScript files ("bring your own model"): a
// module scripted in PyTorch that follows the "detection" contract of
// docs/model-contract.md, loaded as a DetectionVictim. The module supplies
// its raw candidates before any threshold or NMS (YOLO-style); effrobust
// computes scores (objectness x max class probability) and labels (argmax
// class) and applies its own confidence threshold and class-aware NMS
// (DetectionVictim::Detect), so the D3 attacks' objectives and the NMS cost
// meters apply unchanged.
//
// Contract: attributes
//   effrobust_family: str = "detection"
//   in_channels: int = 1 (D3 frames are grey)
//   image_size: int (S; frames are S x S)
//   num_classes: int
// and the method
//   forward_candidates(images [B, 1, S, S] in [0, 1]) ->
//       Tuple[Tensor objectness [B, N] in [0, 1],
//             Tensor class_probs [B, N, num_classes] in [0, 1],
//             Tensor boxes [B, N, 4] x0, y0, x1, y1 in pixels]
// (float32, differentiable in the images; N fixed by the module).
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_TORCHSCRIPT_DETECTOR_H_
#define EFFROBUST_MODELS_TORCHSCRIPT_DETECTOR_H_

#include <memory>
#include <string>

#include "models/detection_victim.h"

namespace effrobust {

// Loads the TorchScript detector at `path` and checks its contract up
// front: family "detection", the attributes, in_channels 1, the method, and
// forward_candidates on 2 zero images of the declared size returning a
// tuple of three float32 tensors of the declared shapes with objectness and
// class probabilities in [0, 1]. A non-empty `dataset` must be one a D3
// detector runs on and fit it:
//   fashion-mnist-sequences  image_size 64 and num_classes 10 (the
//                            Fashion-MNIST classes)
//   mot17                    any image_size (frames are resized to it) and
//                            num_classes >= 1: ground-truth class c of
//                            gt.txt is detector class c - 1, so class 0 is
//                            "pedestrian" (MOT class 1, the only one kept)
// The detector is in eval mode with its parameters frozen, on the CPU.
// Throws ModelError naming the file, the family and what is missing or
// wrong (and what was expected).
std::unique_ptr<DetectionVictim> LoadTorchScriptDetector(const std::string& path,
                                                         const std::string& dataset = "");

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_TORCHSCRIPT_DETECTOR_H_
