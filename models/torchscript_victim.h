// D1 victims brought as TorchScript files ("bring your own model"): a module
// scripted in PyTorch (torch.jit.script + save) that follows the contract of
// docs/model-contract.md for its family, loaded as a VictimModel. The
// scripted module supplies what is model-specific (its differentiable
// forward, declared FLOPs, early-exit thresholds); the exit rule, the cost
// ledger, the metrics and the exit cap are effrobust's own, as for the
// built-in adapters.
//
// Contract summary (every family): attributes `effrobust_family: str`,
// `in_channels: int`, `image_size: int`, `num_classes: int`; then
//   early_exit:     forward_exits(x) -> (List[Tensor] exit logits [B, classes],
//                                        List[Tensor] stage features [B, ...])
//                   exit_flops: List[float] (cumulative, one per exit),
//                   exit_thresholds: Dict[str, float] ("rad5", "rad15")
//   skip_gate:      forward_gated(x) -> (Tensor logits [B, classes],
//                                        List[Tensor] gates P(run) [B],
//                                        List[Tensor] block features [B, ...])
//                   block_flops: List[float] (per gated block), base_flops: float
//   adaptive_token: forward_halting(x) -> (Tensor logits [B, classes],
//                                          Tensor ponder [B, T],
//                                          Tensor halting [B, L, T],
//                                          Tensor active [B, L] (tokens run),
//                                          List[Tensor] layer features [B, T, D])
//                   layer_flops: List[float] (per layer, all tokens), base_flops: float
// and optionally `infer(x)` (early_exit: `infer(x, q: float, max_exits: int)`)
// for deployment-style single-sample inference.
// Thread-safety: like a torch::nn::Module (one thread at a time).
#ifndef EFFROBUST_MODELS_TORCHSCRIPT_VICTIM_H_
#define EFFROBUST_MODELS_TORCHSCRIPT_VICTIM_H_

#include <memory>
#include <string>
#include <vector>

#include "models/victim_loader.h"

namespace effrobust {

// Arch recorded in the metadata of a TorchScript victim ("torchscript").
constexpr const char* kArchTorchScript = "torchscript";

// True if `path` is a TorchScript archive whose pickled attributes mention
// `effrobust_family` (reads only the archive's data.pkl record; cheap).
// Never throws.
bool IsTorchScriptVictimFile(const std::string& path);

// The family a TorchScript victim file declares (its `effrobust_family`
// attribute), or "" if `path` is not a TorchScript module with that
// attribute (e.g. a checkpoint written by `effrobust train`). Never throws.
std::string TorchScriptFamilyOf(const std::string& path);

// Loads the TorchScript victim at `path` and checks its contract up front:
// the attributes and method of its family are there with the right types,
// and the method run on a batch of 2 zero images of the declared size
// returns outputs of the declared shapes. If `family` is not empty, the
// module must declare it. The victim is in eval mode with parameters
// frozen; meta.arch is "torchscript", meta.name the file stem, meta.dataset
// `dataset`, meta.exit_flops/thresholds those of an early-exit module. A
// non-empty `dataset` must be one D1 victims run on (fashion-mnist) and fit
// the declared in_channels/image_size/num_classes.
// Throws ModelError naming the file and what is missing or wrong (and what
// was expected).
LoadedVictim LoadTorchScriptVictim(const std::string& path, const std::string& family = "",
                                   const std::string& dataset = "");

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_TORCHSCRIPT_VICTIM_H_
