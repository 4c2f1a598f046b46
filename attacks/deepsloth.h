// DeepSloth's objective (Hong et al., ICLR 2021; attacks/deepsloth.cpp), for
// the attacks and for efficiency-aware adversarial training
// (models/adversarial_training.h). Uses torch; a pure function.
#ifndef EFFROBUST_ATTACKS_DEEPSLOTH_H_
#define EFFROBUST_ATTACKS_DEEPSLOTH_H_

#include <torch/torch.h>

#include <vector>

namespace effrobust {

// Sum over samples of, for every internal exit (all but the last of
// `exit_logits`, each [B, classes]), the cross-entropy of its softmax
// against the uniform distribution:
//   L = sum_{i < K-1} -(1/C) sum_c log(softmax(exit_logits[i])_c + 1e-9).
// DeepSloth minimises it, so that no internal classifier becomes confident.
// A scalar; 0 when there is a single exit.
torch::Tensor DeepSlothLoss(const std::vector<torch::Tensor>& exit_logits);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_DEEPSLOTH_H_
