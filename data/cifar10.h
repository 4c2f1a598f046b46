// CIFAR-10 in its "binary version" (cifar-10-batches-bin from
// https://www.cs.toronto.edu/~kriz/cifar.html): data_batch_1.bin ..
// data_batch_5.bin (train, 50000) and test_batch.bin (test, 10000). Each file
// is a run of 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes,
// 1024 red then 1024 green then 1024 blue, each plane 32x32 row-major; the
// official files hold 10000 records each. batches.meta.txt lists the class
// names, one per line. Torch-free. Thread-safe.
#ifndef EFFROBUST_DATA_CIFAR10_H_
#define EFFROBUST_DATA_CIFAR10_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"

namespace effrobust {

// The dataset's name in experiment files (`datasets: [{name: cifar10, path: DIR}]`).
inline constexpr char kCifar10Dataset[] = "cifar10";
inline constexpr int64_t kCifar10Side = 32;
inline constexpr int64_t kCifar10Classes = 10;
inline constexpr int64_t kCifar10RecordBytes = 1 + 3 * kCifar10Side * kCifar10Side;  // 3073
inline constexpr int64_t kCifar10TrainCount = 50000;
inline constexpr int64_t kCifar10TestCount = 10000;

// The batch files of `split` in `dir`, in reading order: "train" is
// DIR/data_batch_1.bin .. DIR/data_batch_5.bin, "test" is DIR/test_batch.bin.
// Throws DataError naming the allowed values for a bad split. Does not look
// at the files.
std::vector<std::string> Cifar10Files(const std::string& dir, const std::string& split);

// Appends the first `max_records` records of one batch file (all of them if
// max_records < 0) to `set`, which must be empty or 3 x 32 x 32 (its shape
// fields are set when empty). Throws DataError naming the file on a missing
// file, a size that is not a multiple of 3073 bytes, or a label above 9
// (with the record index). Exposed for tests.
void AppendCifar10Batch(const std::string& path, int64_t max_records, ImageSet* set);

// Loads split "train" (50000 images) or "test" (10000) from `dir`, keeping
// the first `max_images` (all if max_images < 0; the train batches are read
// in order and the later ones not opened once enough are read). The set is
// N x 3 x 32 x 32 (planar RGB, as in the files) with labels 0..9 and
// num_classes 10. Throws DataError as AppendCifar10Batch, and for a bad split.
ImageSet LoadCifar10(const std::string& dir, const std::string& split, int64_t max_images = -1);

// The class names in DIR/batches.meta.txt, one per non-empty line
// ("airplane", "automobile", ... "truck"). Throws DataError naming the file
// if it is missing or does not hold exactly 10 names.
std::vector<std::string> Cifar10ClassNames(const std::string& dir);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_CIFAR10_H_
