// Tests for the Karpathy-style captions JSON reader, on a tiny dataset
// written here: a dataset_flickr8k.json-like file and images written with
// cv::imwrite (PNG for exact pixels, JPEG as in the real datasets).
#include "data/caption_json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/support/data_files.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

using test::DataErrorOf;
using test::WriteFile;

// An 8x8 colour image whose B, G, R values depend on the position.
cv::Mat ColourImage() {
  cv::Mat m(8, 8, CV_8UC3);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(10 * x + y),       // B
                                        static_cast<uint8_t>(100 + x + 8 * y),  // G
                                        static_cast<uint8_t>(250 - 3 * y));     // R
    }
  }
  return m;
}

// An 8x8 grey gradient.
cv::Mat GreyImage() {
  cv::Mat m(8, 8, CV_8UC1);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) m.at<uint8_t>(y, x) = static_cast<uint8_t>(4 * (8 * y + x));
  }
  return m;
}

constexpr char kJson[] = R"({
  "dataset": "flickr8k",
  "images": [
    {"filename": "a.png", "imgid": 0, "split": "train", "sentid": [0, 1],
     "sentences": [{"tokens": ["a", "red", "square"], "raw": "A red square.", "imgid": 0},
                   {"tokens": ["something", "red"], "raw": "Something red", "imgid": 0}]},
    {"filename": "b.png", "filepath": "sub", "imgid": 1, "split": "test",
     "sentences": [{"tokens": ["a", "grey", "ramp"], "raw": "A grey ramp"}]},
    {"filename": "c.jpg", "imgid": 2, "split": "restval",
     "sentences": [{"tokens": ["flat", "blue"]}]}
  ]
})";

// The dataset above: json at DIR/dataset_flickr8k.json, images under DIR/images.
void WriteDataset(const TempDir& dir) {
  std::filesystem::create_directories(dir.File("images/sub"));
  ASSERT_TRUE(cv::imwrite(dir.File("images/a.png"), ColourImage()));
  ASSERT_TRUE(cv::imwrite(dir.File("images/sub/b.png"), GreyImage()));
  ASSERT_TRUE(
      cv::imwrite(dir.File("images/c.jpg"), cv::Mat(16, 24, CV_8UC3, cv::Scalar(200, 60, 20))));
  WriteFile(dir.File("dataset_flickr8k.json"), kJson);
}

TEST(CaptionJsonTest, ReadsEntriesSplitsTokensAndRawSentences) {
  TempDir dir("captions");
  WriteDataset(dir);
  const CaptionJson json = ReadCaptionJson(dir.File("dataset_flickr8k.json"));
  EXPECT_EQ(json.dataset, "flickr8k");
  ASSERT_EQ(json.entries.size(), 3u);
  EXPECT_EQ(json.entries[0].filename, "a.png");
  EXPECT_EQ(json.entries[0].filepath, "");
  EXPECT_EQ(json.entries[0].split, "train");
  ASSERT_EQ(json.entries[0].tokens.size(), 2u);
  EXPECT_EQ(json.entries[0].tokens[0], (std::vector<std::string>{"a", "red", "square"}));
  EXPECT_EQ(json.entries[0].tokens[1], (std::vector<std::string>{"something", "red"}));
  EXPECT_EQ(json.entries[0].raw[1], "Something red");
  EXPECT_EQ(json.entries[1].filepath, "sub");
  EXPECT_EQ(json.entries[1].split, "test");
  EXPECT_EQ(json.entries[2].split, "restval");
  EXPECT_EQ(json.entries[2].index, 2);
  EXPECT_EQ(json.entries[2].raw[0], "");  // no "raw" key
  EXPECT_EQ(CaptionImagePath("/r", json.entries[1]), "/r/sub/b.png");
  EXPECT_EQ(CaptionImagePath("/r/", json.entries[0]), "/r/a.png");
}

TEST(CaptionJsonTest, ColourImagesArePlanarRgbWithExactPngPixels) {
  TempDir dir("captions");
  WriteDataset(dir);
  const CaptionJson json = ReadCaptionJson(dir.File("dataset_flickr8k.json"));
  CaptionImageOptions options;
  options.size = 8;
  options.colour = true;
  const CaptionSet set = LoadCaptionedImages(json, dir.File("images"), {"train"}, options);
  ASSERT_EQ(set.images.count, 1);
  EXPECT_EQ(set.images.channels, 3);
  EXPECT_EQ(set.images.height, 8);
  EXPECT_EQ(set.images.width, 8);
  EXPECT_EQ(set.entries, (std::vector<int64_t>{0}));
  ASSERT_EQ(set.tokens.size(), 1u);
  EXPECT_EQ(set.tokens[0][0], (std::vector<std::string>{"a", "red", "square"}));
  ASSERT_EQ(set.images.pixels.size(), 3u * 64);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      const int i = 8 * y + x;
      ASSERT_EQ(set.images.pixels[0 * 64 + i], 250 - 3 * y) << "R at " << x << "," << y;
      ASSERT_EQ(set.images.pixels[1 * 64 + i], 100 + x + 8 * y) << "G at " << x << "," << y;
      ASSERT_EQ(set.images.pixels[2 * 64 + i], 10 * x + y) << "B at " << x << "," << y;
    }
  }
}

TEST(CaptionJsonTest, GreyImagesAreResizedAndSplitsCombineInJsonOrder) {
  TempDir dir("captions");
  WriteDataset(dir);
  const CaptionJson json = ReadCaptionJson(dir.File("dataset_flickr8k.json"));
  CaptionImageOptions options;
  options.size = 4;
  const CaptionSet set =
      LoadCaptionedImages(json, dir.File("images"), {"restval", "test"}, options);
  ASSERT_EQ(set.images.count, 2);
  EXPECT_EQ(set.images.channels, 1);
  EXPECT_EQ(set.entries, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(set.tokens[1][0], (std::vector<std::string>{"flat", "blue"}));
  ASSERT_EQ(set.images.pixels.size(), 2u * 16);
  // b.png halved by area averaging: pixel (x, y) is the mean of the 2x2 block,
  // 4 * (8 * (2y + 0.5) + 2x + 0.5) = 64y + 8x + 18.
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_NEAR(set.images.pixels[4 * y + x], 64 * y + 8 * x + 18, 1) << x << "," << y;
    }
  }
  // c.jpg is flat BGR (200, 60, 20): grey 0.299 R + 0.587 G + 0.114 B ~ 64.
  for (int i = 16; i < 32; ++i) EXPECT_NEAR(set.images.pixels[i], 64, 3);

  options.max_images = 1;
  EXPECT_EQ(
      LoadCaptionedImages(json, dir.File("images"), {"restval", "test"}, options).images.count, 1);
}

TEST(CaptionJsonTest, MissingImageErrorNamesJsonEntryAndFilename) {
  TempDir dir("captions");
  WriteDataset(dir);
  std::filesystem::remove(dir.File("images/sub/b.png"));
  const CaptionJson json = ReadCaptionJson(dir.File("dataset_flickr8k.json"));
  const std::string msg =
      DataErrorOf([&] { LoadCaptionedImages(json, dir.File("images"), {"test"}); });
  EXPECT_NE(msg.find("[data] missing image '" + dir.File("images/sub/b.png") + "'"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("'" + dir.File("dataset_flickr8k.json") + "' images[1] ('b.png')"),
            std::string::npos)
      << msg;
  // The train split does not need b.png.
  EXPECT_EQ(LoadCaptionedImages(json, dir.File("images"), {"train"}).images.count, 1);
}

TEST(CaptionJsonTest, UndecodableImageIsAnErrorNamingTheEntry) {
  TempDir dir("captions");
  WriteDataset(dir);
  WriteFile(dir.File("images/c.jpg"), "not a jpeg");
  const CaptionJson json = ReadCaptionJson(dir.File("dataset_flickr8k.json"));
  const std::string msg =
      DataErrorOf([&] { LoadCaptionedImages(json, dir.File("images"), {"restval"}); });
  EXPECT_NE(msg.find("cannot decode"), std::string::npos) << msg;
  EXPECT_NE(msg.find("images[2] ('c.jpg')"), std::string::npos) << msg;
}

TEST(CaptionJsonTest, BadSplitIsAnErrorInTheFileAndInTheRequest) {
  TempDir dir("captions");
  WriteFile(dir.File("d.json"),
            R"({"images": [{"filename": "x.jpg", "split": "dev",
                "sentences": [{"tokens": ["x"]}]}]})");
  std::string msg = DataErrorOf([&] { ReadCaptionJson(dir.File("d.json")); });
  EXPECT_NE(msg.find("images[0] ('x.jpg') has split 'dev'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"restval\""), std::string::npos) << msg;

  WriteDataset(dir);
  const CaptionJson json = ReadCaptionJson(dir.File("dataset_flickr8k.json"));
  msg = DataErrorOf([&] { LoadCaptionedImages(json, dir.File("images"), {"validation"}); });
  EXPECT_NE(msg.find("unknown caption split 'validation'"), std::string::npos) << msg;
}

TEST(CaptionJsonTest, EmptySentencesOrTokensAreErrorsNamingTheEntry) {
  TempDir dir("captions");
  WriteFile(dir.File("d.json"),
            R"({"images": [{"filename": "ok.jpg", "split": "val", "sentences": [{"tokens": ["x"]}]},
                           {"filename": "y.jpg", "split": "val", "sentences": []}]})");
  std::string msg = DataErrorOf([&] { ReadCaptionJson(dir.File("d.json")); });
  EXPECT_NE(msg.find("images[1] ('y.jpg') has no sentences"), std::string::npos) << msg;

  WriteFile(dir.File("d.json"),
            R"({"images": [{"filename": "z.jpg", "split": "val",
                            "sentences": [{"tokens": ["x"]}, {"tokens": [], "raw": ""}]}]})");
  msg = DataErrorOf([&] { ReadCaptionJson(dir.File("d.json")); });
  EXPECT_NE(msg.find("images[0] ('z.jpg') sentence 1 has no tokens"), std::string::npos) << msg;
}

TEST(CaptionJsonTest, MalformedOrMissingJsonNamesTheFile) {
  TempDir dir("captions");
  std::string msg = DataErrorOf([&] { ReadCaptionJson(dir.File("absent.json")); });
  EXPECT_NE(msg.find("cannot open captions JSON '" + dir.File("absent.json") + "'"),
            std::string::npos)
      << msg;
  WriteFile(dir.File("bad.json"), R"({"images": [{"filename": "a.jpg",)");
  msg = DataErrorOf([&] { ReadCaptionJson(dir.File("bad.json")); });
  EXPECT_NE(msg.find("'" + dir.File("bad.json") + "' is not valid JSON"), std::string::npos) << msg;
  WriteFile(dir.File("noimages.json"), R"({"dataset": "coco"})");
  msg = DataErrorOf([&] { ReadCaptionJson(dir.File("noimages.json")); });
  EXPECT_NE(msg.find("has no \"images\" list"), std::string::npos) << msg;
}

}  // namespace
}  // namespace effrobust
