#include "data/tensor_view.h"

#include <string>

#include "common/error.h"

namespace effrobust {

namespace {

void CheckRange(const ImageSet& set, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > set.count) {
    throw DataError("range [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") is outside the image set of " + std::to_string(set.count) +
                    " images");
  }
}

}  // namespace

torch::Tensor ImagesTensor(const ImageSet& set, int64_t begin, int64_t end) {
  CheckRange(set, begin, end);
  const int64_t per = set.channels * set.height * set.width;
  const int64_t n = end - begin;
  if (static_cast<int64_t>(set.pixels.size()) < set.count * per) {
    throw DataError("image set holds " + std::to_string(set.pixels.size()) +
                    " pixels, fewer than its shape needs");
  }
  // from_blob does not own the memory: copy via to() before returning.
  auto bytes = torch::from_blob(const_cast<uint8_t*>(set.pixels.data()) + begin * per,
                                {n, set.channels, set.height, set.width}, torch::kUInt8);
  return bytes.to(torch::kFloat32).div_(255.0);
}

torch::Tensor LabelsTensor(const ImageSet& set, int64_t begin, int64_t end) {
  CheckRange(set, begin, end);
  if (static_cast<int64_t>(set.labels.size()) < end) {
    throw DataError("image set holds " + std::to_string(set.labels.size()) +
                    " labels, fewer than its count");
  }
  return torch::tensor(std::vector<int64_t>(set.labels.begin() + begin,
                                            set.labels.begin() + end),
                       torch::kInt64);
}

}  // namespace effrobust
