// Tests for the CIFAR-10 binary batch reader, on tiny batches written here in
// the exact on-disk format (label byte + 1024 R + 1024 G + 1024 B bytes).
#include "data/cifar10.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/support/data_files.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

// A pixel value that differs between records, channels, rows and columns.
uint8_t PixelValue(int record, int c, int y, int x) {
  return static_cast<uint8_t>((record * 31 + c * 85 + y * 7 + x * 3) % 256);
}

// One 3073-byte record: label, then the R, G and B planes, 32x32 row-major.
std::string Record(int record, uint8_t label) {
  std::string r(1, static_cast<char>(label));
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) r.push_back(static_cast<char>(PixelValue(record, c, y, x)));
    }
  }
  return r;
}

using test::DataErrorOf;
using test::WriteFile;

TEST(Cifar10Test, RecordSizeIs3073Bytes) { EXPECT_EQ(kCifar10RecordBytes, 3073); }

TEST(Cifar10Test, ReadsLabelAndPlanarRgbPixels) {
  TempDir dir("cifar10");
  WriteFile(dir.File("test_batch.bin"), Record(0, 3) + Record(1, 9));
  ImageSet set = LoadCifar10(dir.path(), "test");
  ASSERT_EQ(set.count, 2);
  EXPECT_EQ(set.channels, 3);
  EXPECT_EQ(set.height, 32);
  EXPECT_EQ(set.width, 32);
  EXPECT_EQ(set.num_classes, 10);
  EXPECT_EQ(set.labels, (std::vector<int64_t>{3, 9}));
  ASSERT_EQ(set.pixels.size(), 2u * 3 * 32 * 32);
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          const size_t i = ((static_cast<size_t>(n) * 3 + c) * 32 + y) * 32 + x;
          ASSERT_EQ(set.pixels[i], PixelValue(n, c, y, x))
              << "image " << n << " channel " << c << " y " << y << " x " << x;
        }
      }
    }
  }
  // A few spot values, spelled out: image 1, green plane, row 2, column 5.
  EXPECT_EQ(set.pixels[((1 * 3 + 1) * 32 + 2) * 32 + 5], (31 + 85 + 14 + 15) % 256);
}

TEST(Cifar10Test, TrainSplitReadsTheFiveBatchesInOrder) {
  TempDir dir("cifar10");
  for (int b = 1; b <= 5; ++b) {
    // Batch b holds one record with label b - 1, except batch 2 with two.
    std::string bytes = Record(b, static_cast<uint8_t>(b - 1));
    if (b == 2) bytes += Record(20, 7);
    WriteFile(dir.File("data_batch_" + std::to_string(b) + ".bin"), bytes);
  }
  ImageSet set = LoadCifar10(dir.path(), "train");
  ASSERT_EQ(set.count, 6);
  EXPECT_EQ(set.labels, (std::vector<int64_t>{0, 1, 7, 2, 3, 4}));
  // Image 2 is the second record of batch 2: first red pixel from record 20.
  EXPECT_EQ(set.pixels[2 * 3072], PixelValue(20, 0, 0, 0));
  EXPECT_EQ(set.pixels[5 * 3072 + 3071], PixelValue(5, 2, 31, 31));
}

TEST(Cifar10Test, MaxImagesStopsReadingWithoutOpeningLaterBatches) {
  TempDir dir("cifar10");
  WriteFile(dir.File("data_batch_1.bin"), Record(0, 1) + Record(1, 2));
  WriteFile(dir.File("data_batch_2.bin"), Record(2, 5) + Record(3, 6));
  // data_batch_3..5 are absent: reading 3 images must not need them.
  ImageSet set = LoadCifar10(dir.path(), "train", 3);
  ASSERT_EQ(set.count, 3);
  EXPECT_EQ(set.labels, (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(set.pixels.size(), 3u * 3072);
  // All five are needed when the files run out first.
  const std::string msg = DataErrorOf([&] { LoadCifar10(dir.path(), "train", 5); });
  EXPECT_NE(msg.find("data_batch_3.bin"), std::string::npos) << msg;
}

TEST(Cifar10Test, TruncatedBatchErrorNamesFileAndRecordSize) {
  TempDir dir("cifar10");
  std::string bytes = Record(0, 1) + Record(1, 2);
  bytes.resize(bytes.size() - 100);
  WriteFile(dir.File("test_batch.bin"), bytes);
  const std::string msg = DataErrorOf([&] { LoadCifar10(dir.path(), "test"); });
  EXPECT_NE(msg.find("[data]"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.File("test_batch.bin")), std::string::npos) << msg;
  EXPECT_NE(msg.find("6046 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("multiple of the 3073-byte record"), std::string::npos) << msg;
}

TEST(Cifar10Test, LabelAboveNineIsAnErrorNamingRecordAndFile) {
  TempDir dir("cifar10");
  WriteFile(dir.File("test_batch.bin"), Record(0, 4) + Record(1, 10));
  const std::string msg = DataErrorOf([&] { LoadCifar10(dir.path(), "test"); });
  EXPECT_NE(msg.find("label 10 of record 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.File("test_batch.bin")), std::string::npos) << msg;
}

TEST(Cifar10Test, MissingBatchErrorNamesFileAndExpectedFormat) {
  TempDir dir("cifar10");
  const std::string msg = DataErrorOf([&] { LoadCifar10(dir.path(), "test"); });
  EXPECT_NE(msg.find(dir.File("test_batch.bin")), std::string::npos) << msg;
  EXPECT_NE(msg.find("3073-byte records"), std::string::npos) << msg;
}

TEST(Cifar10Test, UnknownSplitNamesAllowedValues) {
  const std::string msg = DataErrorOf([] { Cifar10Files("/nowhere", "validation"); });
  EXPECT_NE(msg.find("'validation'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"train\", \"test\""), std::string::npos) << msg;
}

TEST(Cifar10Test, ReadsClassNamesFromBatchesMeta) {
  TempDir dir("cifar10");
  WriteFile(dir.File("batches.meta.txt"),
            "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
  const std::vector<std::string> names = Cifar10ClassNames(dir.path());
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "airplane");
  EXPECT_EQ(names[9], "truck");
  WriteFile(dir.File("batches.meta.txt"), "airplane\nautomobile\n");
  const std::string msg = DataErrorOf([&] { Cifar10ClassNames(dir.path()); });
  EXPECT_NE(msg.find("holds 2 class names"), std::string::npos) << msg;
}

}  // namespace
}  // namespace effrobust
