#include "data/fashion_mnist.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "common/error.h"

namespace effrobust {

namespace {

constexpr int64_t kMaxDims = 4;
// Refuse absurd sizes from corrupt headers before allocating.
constexpr int64_t kMaxElements = int64_t{1} << 32;

struct GzCloser {
  void operator()(gzFile_s* f) const {
    if (f != nullptr) gzclose(f);
  }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

// Reads exactly `n` bytes; returns false on short read. Throws on zlib error.
bool ReadExact(gzFile f, const std::string& path, uint8_t* out, int64_t n) {
  int64_t done = 0;
  while (done < n) {
    const int64_t want = std::min<int64_t>(n - done, int64_t{1} << 30);
    const int got = gzread(f, out + done, static_cast<unsigned>(want));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      throw DataError("cannot decompress '" + path + "': " +
                      (msg != nullptr ? msg : "zlib error"));
    }
    if (got == 0) {
      // gzread returns 0 at EOF; a truncated gzip stream may also flag an
      // error only here.
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      if (errnum != Z_OK && errnum != Z_STREAM_END) {
        throw DataError("cannot decompress '" + path + "': " +
                        (msg != nullptr ? msg : "zlib error"));
      }
      return false;
    }
    done += got;
  }
  return true;
}

uint32_t BigEndian32(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
         uint32_t{b[3]};
}

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  if (dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

}  // namespace

std::string DefaultFashionMnistDir() {
  const char* env = std::getenv("EFFROBUST_FASHION_MNIST_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "/usr/share/datasets/fashion-mnist";
}

IdxArray ReadIdxGz(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw DataError("cannot open '" + path + "': file missing or unreadable");
  }
  GzPtr f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError("cannot open '" + path + "' for reading");

  uint8_t magic[4];
  if (!ReadExact(f.get(), path, magic, 4)) {
    throw DataError("truncated IDX file '" + path + "': no 4-byte magic number");
  }
  // IDX magic: 0x00 0x00 <type> <ndims>; only unsigned byte (0x08) is used.
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 1 ||
      magic[3] > kMaxDims) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%02x%02x%02x%02x", magic[0], magic[1], magic[2],
                  magic[3]);
    throw DataError("bad magic number " + std::string(buf) + " in '" + path +
                    "' (expected 0x000008NN: unsigned-byte IDX with 1.." +
                    std::to_string(kMaxDims) + " dimensions)");
  }
  const int ndims = magic[3];
  IdxArray out;
  int64_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    uint8_t b[4];
    if (!ReadExact(f.get(), path, b, 4)) {
      throw DataError("truncated IDX header in '" + path + "': dimension " +
                      std::to_string(d) + " missing");
    }
    const int64_t dim = BigEndian32(b);
    out.dims.push_back(dim);
    total *= dim;
    if (total > kMaxElements) {
      throw DataError("implausible IDX dimensions in '" + path + "'");
    }
  }
  out.data.resize(static_cast<size_t>(total));
  if (total > 0 && !ReadExact(f.get(), path, out.data.data(), total)) {
    throw DataError("truncated data in '" + path + "': header promises " +
                    std::to_string(total) + " bytes");
  }
  return out;
}

std::vector<std::string> FashionMnistFiles(const std::string& dir, const std::string& split) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw DataError("unknown Fashion-MNIST split '" + split +
                    "' (allowed: \"train\", \"test\")");
  }
  return {JoinPath(dir, prefix + "-images-idx3-ubyte.gz"),
          JoinPath(dir, prefix + "-labels-idx1-ubyte.gz")};
}

ImageSet LoadFashionMnist(const std::string& dir, const std::string& split) {
  const std::vector<std::string> files = FashionMnistFiles(dir, split);
  const std::string& images_path = files[0];
  const std::string& labels_path = files[1];
  IdxArray images = ReadIdxGz(images_path);
  IdxArray labels = ReadIdxGz(labels_path);
  if (images.dims.size() != 3) {
    throw DataError("'" + images_path + "' has " + std::to_string(images.dims.size()) +
                    " dimensions, expected 3 (N x H x W)");
  }
  if (labels.dims.size() != 1) {
    throw DataError("'" + labels_path + "' has " + std::to_string(labels.dims.size()) +
                    " dimensions, expected 1 (N)");
  }
  if (images.dims[0] != labels.dims[0]) {
    throw DataError("count mismatch: '" + images_path + "' has " +
                    std::to_string(images.dims[0]) + " images but '" + labels_path +
                    "' has " + std::to_string(labels.dims[0]) + " labels");
  }
  ImageSet set;
  set.count = images.dims[0];
  set.channels = 1;
  set.height = images.dims[1];
  set.width = images.dims[2];
  set.num_classes = 10;
  set.pixels = std::move(images.data);
  set.labels.resize(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= set.num_classes) {
      throw DataError("label " + std::to_string(labels.data[i]) + " at index " +
                      std::to_string(i) + " in '" + labels_path +
                      "' is out of range (expected 0..9)");
    }
    set.labels[i] = labels.data[i];
  }
  return set;
}

}  // namespace effrobust
