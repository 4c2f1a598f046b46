#include "defenses/transforms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "common/error.h"
#include "defenses/catalog.h"

namespace effrobust {
namespace {

// A textured image on the 8-bit grid (values k/255), fixed by `seed`.
Image Textured(int64_t channels, int64_t height, int64_t width, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-40, 40);
  Image image{channels, height, width, {}};
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        const int base = static_cast<int>(40 + 6 * x + 3 * y + 50 * c) % 200;
        image.values.push_back(static_cast<float>(std::clamp(base + noise(rng), 0, 255)) / 255.0f);
      }
    }
  }
  return image;
}

// `rows` of 8-bit levels as a 1-channel image.
Image Gray(const std::vector<std::vector<int>>& rows) {
  Image image{1, static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size()), {}};
  for (const auto& row : rows) {
    for (int v : row) image.values.push_back(static_cast<float>(v) / 255.0f);
  }
  return image;
}

// The image's values as 8-bit levels, rounded.
std::vector<int> Levels(const Image& image) {
  std::vector<int> out;
  for (float v : image.values) out.push_back(static_cast<int>(std::lround(v * 255.0f)));
  return out;
}

double MeanAbsError(const Image& a, const Image& b) {
  double sum = 0;
  for (size_t i = 0; i < a.values.size(); ++i) sum += std::fabs(a.values[i] - b.values[i]);
  return sum / static_cast<double>(a.values.size());
}

// The 8-bit Mat OpenCV would be handed, built independently of the code under
// test: interleaved, colour in BGR order.
cv::Mat ReferenceMat(const Image& image) {
  const int cn = static_cast<int>(image.channels);
  cv::Mat mat(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC(cn));
  const std::vector<int> levels = Levels(image);
  for (int c = 0; c < cn; ++c) {
    for (int y = 0; y < mat.rows; ++y) {
      for (int x = 0; x < mat.cols; ++x) {
        mat.ptr<uint8_t>(y)[x * cn + (cn == 3 ? 2 - c : c)] =
            static_cast<uint8_t>(levels[(c * mat.rows + y) * mat.cols + x]);
      }
    }
  }
  return mat;
}

std::vector<int> ReferenceJpegLevels(const Image& image, int quality) {
  std::vector<uint8_t> bytes;
  const cv::Mat mat = ReferenceMat(image);
  EXPECT_TRUE(cv::imencode(".jpg", mat, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}));
  const cv::Mat back =
      cv::imdecode(bytes, image.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  const int cn = static_cast<int>(image.channels);
  std::vector<int> out;
  for (int c = 0; c < cn; ++c) {
    for (int y = 0; y < back.rows; ++y) {
      for (int x = 0; x < back.cols; ++x)
        out.push_back(back.ptr<uint8_t>(y)[x * cn + (cn == 3 ? 2 - c : c)]);
    }
  }
  return out;
}

// The sub-image [y0, y0 + h) x [x0, x0 + w) of every channel.
Image Crop(const Image& image, int64_t y0, int64_t x0, int64_t h, int64_t w) {
  Image out{image.channels, h, w, {}};
  for (int64_t c = 0; c < image.channels; ++c) {
    for (int64_t y = y0; y < y0 + h; ++y) {
      for (int64_t x = x0; x < x0 + w; ++x) out.values.push_back(image.at(c, y, x));
    }
  }
  return out;
}

TEST(JpegTransformTest, EqualsOpenCvRoundTripOfThe8BitGrayImage) {
  const Image image = Textured(1, 28, 28);
  const Image out = JpegTransform(75).Apply(image);
  EXPECT_EQ(Levels(out), ReferenceJpegLevels(image, 75));
  EXPECT_GT(MeanAbsError(out, image), 0.0);
}

TEST(JpegTransformTest, EqualsOpenCvRoundTripOfAColourImageInBgrOrder) {
  const Image image = Textured(3, 20, 20);
  EXPECT_EQ(Levels(JpegTransform(60).Apply(image)), ReferenceJpegLevels(image, 60));
}

TEST(JpegTransformTest, LowerQualityGivesLargerError) {
  const Image image = Textured(1, 32, 32);
  const double e95 = MeanAbsError(JpegTransform(95).Apply(image), image);
  const double e50 = MeanAbsError(JpegTransform(50).Apply(image), image);
  const double e10 = MeanAbsError(JpegTransform(10).Apply(image), image);
  EXPECT_GT(e95, 0.0);
  EXPECT_LT(e95, e50);
  EXPECT_LT(e50, e10);
}

TEST(BlockJpegTransformTest, EveryBlockIsItsOwnJpegIncludingPartialEdgeBlocks) {
  // 20 x 13: blocks of 8, 8 and 4 rows by 8 and 5 columns.
  const Image image = Textured(3, 20, 13);
  const Image out = BlockJpegTransform(90).Apply(image);
  for (int64_t y = 0; y < 20; y += 8) {
    for (int64_t x = 0; x < 13; x += 8) {
      const int64_t h = std::min<int64_t>(8, 20 - y), w = std::min<int64_t>(8, 13 - x);
      EXPECT_EQ(Levels(Crop(out, y, x, h, w)), ReferenceJpegLevels(Crop(image, y, x, h, w), 90))
          << "block at y=" << y << " x=" << x;
    }
  }
}

TEST(BlockJpegTransformTest, ChangingOneColourBlockLeavesTheOtherBlocksAlone) {
  Image image = Textured(3, 16, 16);
  Image changed = image;
  for (int64_t c = 0; c < 3; ++c) changed.values[(c * 16 + 2) * 16 + 3] = c == 0 ? 1.0f : 0.0f;
  const Image a = BlockJpegTransform(90).Apply(image);
  const Image b = BlockJpegTransform(90).Apply(changed);
  EXPECT_NE(Levels(Crop(a, 0, 0, 8, 8)), Levels(Crop(b, 0, 0, 8, 8)));
  for (auto [y, x] : {std::pair<int64_t, int64_t>{0, 8}, {8, 0}, {8, 8}}) {
    EXPECT_EQ(Levels(Crop(a, y, x, 8, 8)), Levels(Crop(b, y, x, 8, 8))) << y << "," << x;
  }
  // Whole-image JPEG subsamples chroma over 16 x 16 and so spreads the change.
  EXPECT_NE(Levels(JpegTransform(90).Apply(image)), Levels(JpegTransform(90).Apply(changed)));
  EXPECT_NE(Levels(Crop(JpegTransform(90).Apply(image), 8, 8, 8, 8)),
            Levels(Crop(JpegTransform(90).Apply(changed), 8, 8, 8, 8)));
}

TEST(BlockJpegTransformTest, OnGrayImagesEqualsWholeImageJpeg) {
  // A gray JPEG codes its 8 x 8 blocks independently (no chroma), so the
  // SoK's block variant changes nothing there; the partial edge blocks are
  // padded the same way in both.
  const Image image = Textured(1, 21, 19);
  EXPECT_EQ(Levels(BlockJpegTransform(90).Apply(image)), Levels(JpegTransform(90).Apply(image)));
}

// A horizontal ramp of 8-bit levels 10, 20, 30, 40, 50 in every row.
std::vector<std::vector<int>> Ramp() {
  return std::vector<std::vector<int>>(5, {10, 20, 30, 40, 50});
}

TEST(MedianTransformTest, RemovesACentreImpulseFromARamp) {
  auto rows = Ramp();
  rows[2][2] = 255;
  // Every 3 x 3 window holds three copies of each of its three columns' levels
  // (the border replicated), the impulse replacing one copy of the middle
  // level, so the median is the ramp's own level everywhere.
  EXPECT_EQ(Levels(MedianTransform(3).Apply(Gray(rows))), Levels(Gray(Ramp())));
}

TEST(MedianTransformTest, CornerImpulseIsCountedOncePerReplicatedBorderCopy) {
  auto rows = Ramp();
  rows[0][0] = 255;
  // (0,0): {255 x4, 20 x3, 10 x2} -> 20; (0,1): {255 x2, 10, 20 x3, 30 x3} -> 30;
  // (1,0): {255 x2, 10 x4, 20 x3} -> 20; (1,1): {255, 10 x2, 20 x3, 30 x3} -> 20.
  auto expected = Ramp();
  expected[0][0] = 20;
  expected[0][1] = 30;
  expected[1][0] = 20;
  EXPECT_EQ(Levels(MedianTransform(3).Apply(Gray(rows))), Levels(Gray(expected)));
}

TEST(MedianTransformTest, FiltersEachColourChannelOnItsOwn) {
  const Image ramp = Gray(Ramp());
  Image colour{3, 5, 5, {}};
  for (int c = 0; c < 3; ++c)
    colour.values.insert(colour.values.end(), ramp.values.begin(), ramp.values.end());
  colour.values[(1 * 5 + 2) * 5 + 2] = 1.0f;  // an impulse in the green channel only
  const Image out = MedianTransform(3).Apply(colour);
  for (int64_t c = 0; c < 3; ++c) {
    Image channel{1, 5, 5, {}};
    channel.values.assign(out.values.begin() + c * 25, out.values.begin() + (c + 1) * 25);
    EXPECT_EQ(Levels(channel), Levels(ramp)) << "channel " << c;
  }
}

Image NoisyConstant(int64_t channels, float level, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, sigma);
  Image image{channels, 32, 32, {}};
  for (int64_t i = 0; i < channels * 32 * 32; ++i) {
    image.values.push_back(std::round(std::clamp(level + noise(rng), 0.0f, 1.0f) * 255.0f) /
                           255.0f);
  }
  return image;
}

TEST(NonLocalMeansTransformTest, ReducesTheErrorOfANoisyConstantImage) {
  for (int64_t channels : {1, 3}) {
    const Image clean = NoisyConstant(channels, 0.5f, 0.0f, 1);
    const Image noisy = NoisyConstant(channels, 0.5f, 10.0f / 255.0f, 2);
    const double before = MeanAbsError(noisy, clean);
    const double after = MeanAbsError(NonLocalMeansTransform().Apply(noisy), clean);
    EXPECT_LT(after, 0.5 * before) << channels << " channel(s): " << before << " -> " << after;
  }
}

TEST(NonLocalMeansTransformTest, LeavesAConstantGrayImageUnchanged) {
  for (float level : {0.0f, 0.4f, 1.0f}) {
    const Image constant = NoisyConstant(1, level, 0.0f, 1);
    EXPECT_EQ(Levels(NonLocalMeansTransform(10, 7, 21).Apply(constant)), Levels(constant)) << level;
  }
}

TEST(NonLocalMeansTransformTest, MovesAConstantColourImageByAtMostOneLevel) {
  // The colour variant denoises in 8-bit Lab; the BGR -> Lab -> BGR round
  // trip alone moves some levels by one (102 -> 101, 255 -> 254).
  for (float level : {0.0f, 0.4f, 1.0f}) {
    const Image constant = NoisyConstant(3, level, 0.0f, 1);
    const Image out = NonLocalMeansTransform(10, 7, 21).Apply(constant);
    for (size_t i = 0; i < out.values.size(); ++i) {
      ASSERT_NEAR(out.values[i], constant.values[i], 1.0f / 255 + 1e-6f) << level << " at " << i;
    }
  }
}

struct BitCase {
  int bits;
  float in;
  float out;
};

TEST(BitDepthTransformTest, RoundsToTwoToTheBitsLevels) {
  const std::vector<BitCase> cases = {
      {1, 0.0f, 0.0f},
      {1, 0.49f, 0.0f},
      {1, 0.5f, 0.0f},  // tie to even
      {1, 0.51f, 1.0f},
      {1, -0.2f, 0.0f},
      {1, 1.3f, 1.0f},
      {2, 0.3f, 1.0f / 3},
      {2, 0.6f, 2.0f / 3},
      {3, 0.5f, 4.0f / 7},  // 3.5 -> 4
      {4, 0.1f, 2.0f / 15},
      {5, 0.9f, 28.0f / 31},
      {6, 0.25f, 16.0f / 63},
      {7, 0.75f, 95.0f / 127},
      {8, 0.5f, 128.0f / 255},  // 127.5 -> 128
      {8, 77.0f / 255, 77.0f / 255},
  };
  for (const auto& c : cases) {
    const Image out = BitDepthTransform(c.bits).Apply(Image{1, 1, 1, {c.in}});
    EXPECT_FLOAT_EQ(out.values[0], c.out) << "bits=" << c.bits << " in=" << c.in;
  }
}

struct BadTransform {
  std::string what;
  std::function<void()> make;
  std::string fragment;
};

TEST(TransformParamTest, BadParametersAreRefusedNamingTheParameterValueAndRange) {
  const std::vector<BadTransform> cases = {
      {"jpeg 0", [] { JpegTransform(0); },
       "[defenses] defense 'jpeg' parameter 'quality' = '0' is out of range (allowed: whole "
       "numbers 1 to 100)"},
      {"jpeg 101", [] { JpegTransform(101); }, "parameter 'quality' = '101' is out of range"},
      {"block 0", [] { BlockJpegTransform(0); }, "defense 'block_jpeg' parameter 'quality' = '0'"},
      {"h 0", [] { NonLocalMeansTransform(0); },
       "defense 'nl_means' parameter 'h' = '0' is out of range (allowed: 0.1 to 255)"},
      {"h nan", [] { NonLocalMeansTransform(std::nanf("")); },
       "parameter 'h' = 'nan' is out of range"},
      {"template 6", [] { NonLocalMeansTransform(10, 6); },
       "parameter 'template' = '6' must be odd (allowed: odd whole numbers 1 to 35)"},
      {"search 103", [] { NonLocalMeansTransform(10, 7, 103); },
       "parameter 'search' = '103' is out of range (allowed: odd whole numbers 1 to 101)"},
      {"median 4", [] { MedianTransform(4); }, "defense 'median' parameter 'k' = '4' must be odd"},
      {"median 0", [] { MedianTransform(0); }, "parameter 'k' = '0' is out of range"},
      {"bits 0", [] { BitDepthTransform(0); },
       "defense 'bit_depth' parameter 'bits' = '0' is out of range (allowed: whole numbers 1 to "
       "8)"},
      {"bits 9", [] { BitDepthTransform(9); }, "parameter 'bits' = '9' is out of range"},
  };
  for (const auto& c : cases) {
    try {
      c.make();
      ADD_FAILURE() << c.what << ": expected DefenseError";
    } catch (const DefenseError& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos)
          << c.what << ": " << e.what();
    }
  }
}

TEST(TransformImageTest, ImagesTheTransformsCannotTakeAreRefused) {
  const std::vector<std::pair<Image, std::string>> cases = {
      {Image{2, 2, 2, std::vector<float>(8, 0.5f)},
       "jpeg: image 2x2x2 has 2 channels (allowed: 1 or 3)"},
      {Image{1, 0, 4, {}}, "jpeg: image 1x0x4 is empty"},
      {Image{1, 2, 2, {0.1f}}, "jpeg: image 1x2x2 holds 1 values (expected 4)"},
      {Image{1, 1, 2, {0.1f, std::nanf("")}},
       "jpeg: image 1x1x2 has a non-finite value at index 1"},
  };
  for (const auto& [image, fragment] : cases) {
    try {
      JpegTransform().Apply(image);
      ADD_FAILURE() << fragment << ": expected DefenseError";
    } catch (const DefenseError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

TEST(TransformImageTest, ImagesSmallerThanTheWindowsKeepTheirShape) {
  const JpegTransform jpeg(75);
  const BlockJpegTransform block(90);
  const NonLocalMeansTransform nl_means(10, 7, 21);
  const MedianTransform median(99);
  const BitDepthTransform bits(1);
  for (const Transform* t :
       std::vector<const Transform*>{&jpeg, &block, &nl_means, &median, &bits}) {
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {9, 1}, {17, 9}}) {
      for (int64_t channels : {1, 3}) {
        const Image out = t->Apply(Textured(channels, h, w));
        EXPECT_EQ(out.channels, channels) << t->Name();
        EXPECT_EQ(out.height, h) << t->Name();
        EXPECT_EQ(out.width, w) << t->Name();
        EXPECT_EQ(out.values.size(), static_cast<size_t>(channels * h * w)) << t->Name();
      }
    }
  }
}

TEST(MakeTransformTest, BuildsEveryCatalogTransformFromItsDefaults) {
  int transforms = 0;
  for (const auto& info : DefenseCatalog()) {
    if (info.kind == DefenseKind::kRuntimeCap || info.kind == DefenseKind::kDetector) {
      // Not input transforms: the executors apply them.
      EXPECT_THROW(MakeTransform(info.name, CompleteDefenseParams(info.name, {})), DefenseError)
          << info.name;
      continue;
    }
    ++transforms;
    auto t = MakeTransform(info.name, CompleteDefenseParams(info.name, {}));
    if (info.name == kDefaultDefense) {
      EXPECT_EQ(t, nullptr);
      continue;
    }
    ASSERT_NE(t, nullptr) << info.name;
    EXPECT_EQ(t->Name(), info.name);
    const Image image = Textured(1, 16, 16);
    EXPECT_EQ(t->Apply(image).values.size(), image.values.size()) << info.name;
  }
  EXPECT_EQ(transforms, 6);  // none and the five transforms
}

TEST(MakeTransformTest, RefusesParametersThatWereNotCompletedOrAreNotWhole) {
  EXPECT_THROW(MakeTransform("jpeg", {}), DefenseError);
  EXPECT_THROW(MakeTransform("median", {{"k", 7.5}}), DefenseError);
  EXPECT_THROW(MakeTransform("bit_depth", {{"bits", 1e30}}), DefenseError);
  EXPECT_THROW(MakeTransform("shield", {}), DefenseError);
}

}  // namespace
}  // namespace effrobust
