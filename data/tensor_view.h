// Conversion of ImageSet slices to float tensors in [0, 1]. Uses torch.
#ifndef EFFROBUST_DATA_TENSOR_VIEW_H_
#define EFFROBUST_DATA_TENSOR_VIEW_H_

#include <torch/torch.h>

#include "data/fashion_mnist.h"

namespace effrobust {

// Images [begin, end) as float32 [n, C, H, W] scaled to [0, 1], and their
// labels as int64 [n]. Throws DataError if the range is outside the set.
torch::Tensor ImagesTensor(const ImageSet& set, int64_t begin, int64_t end);
torch::Tensor LabelsTensor(const ImageSet& set, int64_t begin, int64_t end);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_TENSOR_VIEW_H_
