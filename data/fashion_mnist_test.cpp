// Tests for the torch-free Fashion-MNIST reader.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/support/temp_dir.h"
#include "data/fashion_mnist.h"

namespace effrobust {
namespace {

namespace fs = std::filesystem;

void WriteGz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  gzclose(f);
}

void WriteRaw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void PushBe32(std::vector<uint8_t>* v, uint32_t x) {
  v->push_back(x >> 24);
  v->push_back((x >> 16) & 0xff);
  v->push_back((x >> 8) & 0xff);
  v->push_back(x & 0xff);
}

std::vector<uint8_t> IdxBytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> v = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) PushBe32(&v, d);
  v.insert(v.end(), data.begin(), data.end());
  return v;
}

// Writes a tiny valid "train" split: n images of h x w, labels 0..n-1 mod 10.
void WriteTinySplit(const TempDir& dir, uint32_t n_images, uint32_t n_labels, uint32_t h = 2,
                    uint32_t w = 3) {
  std::vector<uint8_t> pix(n_images * h * w);
  for (size_t i = 0; i < pix.size(); ++i) pix[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> lab(n_labels);
  for (size_t i = 0; i < lab.size(); ++i) lab[i] = static_cast<uint8_t>(i % 10);
  WriteGz(dir.File("train-images-idx3-ubyte.gz"), IdxBytes({n_images, h, w}, pix));
  WriteGz(dir.File("train-labels-idx1-ubyte.gz"), IdxBytes({n_labels}, lab));
}

template <typename F>
std::string ThrownDataError(F f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(ReadIdxGz, ParsesBigEndianDimensionsAndData) {
  TempDir dir("data");
  const std::string p = dir.File("x.gz");
  // 258 = 0x00000102 checks byte order of the dims.
  std::vector<uint8_t> data(258 * 1);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  WriteGz(p, IdxBytes({258, 1}, data));
  IdxArray a = ReadIdxGz(p);
  ASSERT_EQ(a.dims.size(), 2u);
  EXPECT_EQ(a.dims[0], 258);
  EXPECT_EQ(a.dims[1], 1);
  EXPECT_EQ(a.data, data);
}

TEST(ReadIdxGz, MissingFileNamesThePath) {
  TempDir dir("data");
  const std::string p = dir.File("nope.gz");
  std::string msg = ThrownDataError([&] { ReadIdxGz(p); });
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("[data]", 0), 0u) << msg;
}

TEST(ReadIdxGz, BadMagicNumberIsDataErrorNamingFile) {
  TempDir dir("data");
  const std::string p = dir.File("bad_magic.gz");
  WriteGz(p, {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 9});
  std::string msg = ThrownDataError([&] { ReadIdxGz(p); });
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
}

TEST(ReadIdxGz, TruncatedDataIsDataError) {
  TempDir dir("data");
  const std::string p = dir.File("short.gz");
  WriteGz(p, IdxBytes({10, 4}, std::vector<uint8_t>(39, 1)));  // one byte short
  std::string msg = ThrownDataError([&] { ReadIdxGz(p); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
}

TEST(ReadIdxGz, TruncatedHeaderIsDataError) {
  TempDir dir("data");
  const std::string p = dir.File("short_header.gz");
  WriteGz(p, {0, 0, 0x08, 3, 0, 0, 0, 5});  // promises 3 dims, has 1
  std::string msg = ThrownDataError([&] { ReadIdxGz(p); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(ReadIdxGz, CorruptGzipStreamIsDataError) {
  TempDir dir("data");
  const std::string p = dir.File("corrupt.gz");
  // Compress a valid IDX file, then damage the deflate payload.
  const std::string good = dir.File("good.gz");
  WriteGz(good, IdxBytes({100, 10}, std::vector<uint8_t>(1000, 3)));
  std::ifstream in(good, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 20u);
  for (size_t i = 10; i < bytes.size() - 8; ++i) bytes[i] = static_cast<uint8_t>(0xff - bytes[i]);
  WriteRaw(p, bytes);
  std::string msg = ThrownDataError([&] { ReadIdxGz(p); });
  EXPECT_FALSE(msg.empty()) << "corrupt gzip was accepted";
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
}

TEST(ReadIdxGz, CutOffGzipFileIsDataError) {
  TempDir dir("data");
  const std::string good = dir.File("good.gz");
  std::vector<uint8_t> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((i * 131) ^ (i >> 3));
  WriteGz(good, IdxBytes({50, 100}, data));
  std::ifstream in(good, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes.resize(bytes.size() / 2);
  const std::string p = dir.File("cut.gz");
  WriteRaw(p, bytes);
  std::string msg = ThrownDataError([&] { ReadIdxGz(p); });
  EXPECT_FALSE(msg.empty()) << "half a gzip file was accepted";
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
}

TEST(LoadFashionMnist, LoadsTinySplitWithShapeAndLabels) {
  TempDir dir("data");
  WriteTinySplit(dir, 12, 12);
  ImageSet s = LoadFashionMnist(dir.path(), "train");
  EXPECT_EQ(s.count, 12);
  EXPECT_EQ(s.channels, 1);
  EXPECT_EQ(s.height, 2);
  EXPECT_EQ(s.width, 3);
  EXPECT_EQ(s.num_classes, 10);
  ASSERT_EQ(s.pixels.size(), 12u * 6u);
  EXPECT_EQ(s.pixels[5], static_cast<uint8_t>(35));
  ASSERT_EQ(s.labels.size(), 12u);
  EXPECT_EQ(s.labels[11], 1);
}

TEST(LoadFashionMnist, CountMismatchNamesBothFiles) {
  TempDir dir("data");
  WriteTinySplit(dir, 12, 11);
  std::string msg = ThrownDataError([&] { LoadFashionMnist(dir.path(), "train"); });
  EXPECT_NE(msg.find("mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train-images-idx3-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train-labels-idx1-ubyte.gz"), std::string::npos) << msg;
}

TEST(LoadFashionMnist, BadSplitNamesAllowedValues) {
  TempDir dir("data");
  std::string msg = ThrownDataError([&] { LoadFashionMnist(dir.path(), "validation"); });
  EXPECT_NE(msg.find("validation"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train"), std::string::npos) << msg;
  EXPECT_NE(msg.find("test"), std::string::npos) << msg;
}

TEST(LoadFashionMnist, MissingDirectoryNamesTheFile) {
  std::string msg =
      ThrownDataError([&] { LoadFashionMnist("/nonexistent/effrobust_dir", "test"); });
  EXPECT_NE(msg.find("/nonexistent/effrobust_dir/t10k-images-idx3-ubyte.gz"), std::string::npos)
      << msg;
}

TEST(DefaultFashionMnistDir, HonoursEnvironmentVariable) {
  const char* old = std::getenv("EFFROBUST_FASHION_MNIST_DIR");
  std::string saved = old != nullptr ? old : "";
  setenv("EFFROBUST_FASHION_MNIST_DIR", "/some/where", 1);
  EXPECT_EQ(DefaultFashionMnistDir(), "/some/where");
  unsetenv("EFFROBUST_FASHION_MNIST_DIR");
  EXPECT_EQ(DefaultFashionMnistDir(), "/usr/share/datasets/fashion-mnist");
  if (old != nullptr) setenv("EFFROBUST_FASHION_MNIST_DIR", saved.c_str(), 1);
}

// The real Debian dataset, when installed.
TEST(LoadFashionMnist, RealTestSplitHas10000ImagesOf28x28) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset not installed";
  ImageSet s = LoadFashionMnist(dir, "test");
  EXPECT_EQ(s.count, 10000);
  EXPECT_EQ(s.height, 28);
  EXPECT_EQ(s.width, 28);
  EXPECT_EQ(s.pixels.size(), 10000u * 784u);
  std::vector<int> per_class(10, 0);
  for (int64_t l : s.labels) per_class[l]++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 1000) << "class " << c;
}

}  // namespace
}  // namespace effrobust
