// Fashion-MNIST from the Debian package dataset-fashion-mnist: gzipped IDX
// files (train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz, labels
// alike) in /usr/share/datasets/fashion-mnist. Torch-free. Thread-safe.
#ifndef EFFROBUST_DATA_FASHION_MNIST_H_
#define EFFROBUST_DATA_FASHION_MNIST_H_

#include <cstdint>
#include <string>
#include <vector>

namespace effrobust {

// A set of uint8 images (N x C x H x W, row-major) with int labels.
struct ImageSet {
  int64_t count = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t num_classes = 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
};

// $EFFROBUST_FASHION_MNIST_DIR if set, else /usr/share/datasets/fashion-mnist.
std::string DefaultFashionMnistDir();

// The two gzipped IDX files of `split` in `dir`: {images, labels}, e.g.
// {"DIR/t10k-images-idx3-ubyte.gz", "DIR/t10k-labels-idx1-ubyte.gz"} for
// "test". Throws DataError naming the allowed values for a bad split. Does
// not look at the files.
std::vector<std::string> FashionMnistFiles(const std::string& dir, const std::string& split);

// Loads split "train" (60000) or "test" (10000) from `dir`. Throws
// DataError naming the file on a missing file, bad magic number, truncated
// data, or a count mismatch between images and labels, and naming the
// allowed values for a bad split.
ImageSet LoadFashionMnist(const std::string& dir, const std::string& split);

// Reads one gzipped IDX file into dims + raw bytes (exposed for tests).
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};
IdxArray ReadIdxGz(const std::string& path);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_FASHION_MNIST_H_
