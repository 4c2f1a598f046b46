#include "defenses/transforms.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include "common/error.h"
#include "defenses/catalog.h"

namespace effrobust {
namespace {

// Throws DefenseError unless `image` is something every transform accepts.
void CheckImage(const std::string& name, const Image& image) {
  const std::string where = name + ": image " + std::to_string(image.channels) + "x" +
                            std::to_string(image.height) + "x" + std::to_string(image.width);
  if (image.channels != 1 && image.channels != 3) {
    throw DefenseError(where + " has " + std::to_string(image.channels) +
                       " channels (allowed: 1 or 3)");
  }
  if (image.height < 1 || image.width < 1) {
    throw DefenseError(where + " is empty (allowed: height and width at least 1)");
  }
  const auto expected = static_cast<size_t>(image.channels * image.height * image.width);
  if (image.values.size() != expected) {
    throw DefenseError(where + " holds " + std::to_string(image.values.size()) +
                       " values (expected " + std::to_string(expected) + ")");
  }
  for (size_t i = 0; i < image.values.size(); ++i) {
    if (!std::isfinite(image.values[i])) {
      throw DefenseError(where + " has a non-finite value at index " + std::to_string(i) +
                         " (allowed: finite values in [0, 1])");
    }
  }
}

// OpenCV keeps colour as BGR; our channel c sits at Mat channel Slot(c).
int Slot(int64_t channels, int64_t c) { return static_cast<int>(channels == 3 ? 2 - c : c); }

// The image as an interleaved 8-bit Mat: values clipped to [0, 1] and
// rounded to the nearest k/255.
cv::Mat ToMat8(const Image& image) {
  const int cn = static_cast<int>(image.channels);
  cv::Mat mat(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC(cn));
  for (int64_t c = 0; c < image.channels; ++c) {
    for (int64_t y = 0; y < image.height; ++y) {
      uint8_t* row = mat.ptr<uint8_t>(static_cast<int>(y));
      for (int64_t x = 0; x < image.width; ++x) {
        const float v = std::clamp(image.at(c, y, x), 0.0f, 1.0f);
        row[x * cn + Slot(image.channels, c)] = static_cast<uint8_t>(std::nearbyint(v * 255.0f));
      }
    }
  }
  return mat;
}

// The inverse of ToMat8's layout: k -> k / 255.
Image FromMat8(const cv::Mat& mat, int64_t channels) {
  Image out{channels, mat.rows, mat.cols, {}};
  out.values.resize(static_cast<size_t>(channels * mat.rows * mat.cols));
  for (int64_t c = 0; c < channels; ++c) {
    for (int y = 0; y < mat.rows; ++y) {
      const uint8_t* row = mat.ptr<uint8_t>(y);
      for (int x = 0; x < mat.cols; ++x) {
        out.values[(c * mat.rows + y) * mat.cols + x] =
            static_cast<float>(row[x * channels + Slot(channels, c)]) / 255.0f;
      }
    }
  }
  return out;
}

// JPEG-encodes and decodes an 8-bit 1- or 3-channel Mat.
cv::Mat JpegRoundTrip(const std::string& name, const cv::Mat& mat, int quality) {
  std::vector<uint8_t> bytes;
  if (!cv::imencode(".jpg", mat, bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) {
    throw DefenseError(name + ": OpenCV could not JPEG-encode a " + std::to_string(mat.cols) + "x" +
                       std::to_string(mat.rows) + " image");
  }
  cv::Mat decoded =
      cv::imdecode(bytes, mat.channels() == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (decoded.empty() || decoded.size() != mat.size() || decoded.type() != mat.type()) {
    throw DefenseError(name + ": OpenCV could not decode its own JPEG of a " +
                       std::to_string(mat.cols) + "x" + std::to_string(mat.rows) + " image");
  }
  return decoded;
}

double Param(const std::string& name, const ParamMap& params, const std::string& key) {
  auto it = params.find(key);
  if (it == params.end() || !std::holds_alternative<double>(it->second)) {
    throw DefenseError("defense '" + name + "' needs a numeric parameter '" + key +
                       "' (complete the parameters with CompleteDefenseParams)");
  }
  return std::get<double>(it->second);
}

}  // namespace

JpegTransform::JpegTransform(int quality) : quality_(quality) {
  CheckDefenseValue("jpeg", "quality", quality);
}

Image JpegTransform::Apply(const Image& image) const {
  CheckImage(Name(), image);
  return FromMat8(JpegRoundTrip(Name(), ToMat8(image), quality_), image.channels);
}

BlockJpegTransform::BlockJpegTransform(int quality) : quality_(quality) {
  CheckDefenseValue("block_jpeg", "quality", quality);
}

Image BlockJpegTransform::Apply(const Image& image) const {
  CheckImage(Name(), image);
  const cv::Mat in = ToMat8(image);
  cv::Mat out(in.size(), in.type());
  for (int y = 0; y < in.rows; y += kBlock) {
    for (int x = 0; x < in.cols; x += kBlock) {
      const cv::Rect block(x, y, std::min(kBlock, in.cols - x), std::min(kBlock, in.rows - y));
      JpegRoundTrip(Name(), in(block).clone(), quality_).copyTo(out(block));
    }
  }
  return FromMat8(out, image.channels);
}

NonLocalMeansTransform::NonLocalMeansTransform(float h, int template_window, int search_window)
    : h_(h), template_window_(template_window), search_window_(search_window) {
  CheckDefenseValue("nl_means", "h", h);
  CheckDefenseValue("nl_means", "template", template_window);
  CheckDefenseValue("nl_means", "search", search_window);
}

Image NonLocalMeansTransform::Apply(const Image& image) const {
  CheckImage(Name(), image);
  const cv::Mat in = ToMat8(image);
  cv::Mat out;
  if (image.channels == 1) {
    cv::fastNlMeansDenoising(in, out, h_, template_window_, search_window_);
  } else {
    cv::fastNlMeansDenoisingColored(in, out, h_, h_, template_window_, search_window_);
  }
  return FromMat8(out, image.channels);
}

MedianTransform::MedianTransform(int k) : k_(k) { CheckDefenseValue("median", "k", k); }

Image MedianTransform::Apply(const Image& image) const {
  CheckImage(Name(), image);
  cv::Mat out;
  cv::medianBlur(ToMat8(image), out, k_);
  return FromMat8(out, image.channels);
}

BitDepthTransform::BitDepthTransform(int bits) : bits_(bits) {
  CheckDefenseValue("bit_depth", "bits", bits);
}

Image BitDepthTransform::Apply(const Image& image) const {
  CheckImage(Name(), image);
  const float levels = static_cast<float>((1 << bits_) - 1);
  Image out = image;
  for (float& v : out.values) v = std::nearbyint(std::clamp(v, 0.0f, 1.0f) * levels) / levels;
  return out;
}

std::unique_ptr<Transform> MakeTransform(const std::string& name, const ParamMap& params) {
  FindDefense(name);  // throws for an unknown name
  if (name == kDefaultDefense) return nullptr;
  // Checked before the conversion, so 7.5 or 1e30 is refused, not truncated.
  auto checked = [&](const std::string& key) {
    const double v = Param(name, params, key);
    CheckDefenseValue(name, key, v);
    return v;
  };
  auto whole = [&](const std::string& key) { return static_cast<int>(checked(key)); };
  if (name == "jpeg") return std::make_unique<JpegTransform>(whole("quality"));
  if (name == "block_jpeg") return std::make_unique<BlockJpegTransform>(whole("quality"));
  if (name == "nl_means") {
    return std::make_unique<NonLocalMeansTransform>(static_cast<float>(checked("h")),
                                                    whole("template"), whole("search"));
  }
  if (name == "median") return std::make_unique<MedianTransform>(whole("k"));
  if (name == "bit_depth") return std::make_unique<BitDepthTransform>(whole("bits"));
  throw DefenseError("defense '" + name + "' is not an input transform");
}

}  // namespace effrobust
