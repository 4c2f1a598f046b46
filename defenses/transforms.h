// Input transformations used as defenses (the SoK's mitigation; its
// artifact's mitigation/defense/jpeg.py and spatial.py): whole-image JPEG,
// the SoK's 8x8-block JPEG, non-local-means and median smoothing, and
// bit-depth reduction (Feature Squeezing, arXiv 1704.01155). Each
// maps one image to an image of the same shape. Torch-free; OpenCV (Debian
// 4.6: core, imgproc, imgcodecs, photo) does the codecs and filters.
//
// Quantisation: OpenCV's JPEG codec, non-local means and median filter work
// on 8-bit images, so those transforms first round every value to the
// nearest of the 256 levels k/255 (values outside [0, 1] are clipped) and
// return k'/255. Inputs that are already on that grid (Fashion-MNIST and
// everything derived from it without attacks) lose nothing in that step.
// The SoK's artifact truncates (x * 255 -> uint8) instead of rounding.
// Colour images are handed to OpenCV in BGR order, so that its YCrCb / Lab
// conversions see the colours they expect.
//
// The executors apply them to a unit's clean and adversarial inputs (and
// adaptive units attack through them); see docs/experiment-format.md.
//
// Thread-safety: transforms are immutable; Apply() may be called from many
// threads at once (OpenCV may use its own worker threads inside a call).
#ifndef EFFROBUST_DEFENSES_TRANSFORMS_H_
#define EFFROBUST_DEFENSES_TRANSFORMS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/value.h"

namespace effrobust {

// One image as float values, planar: values[(c * height + y) * width + x],
// the layout of one contiguous [C, H, W] tensor. Values are meant to lie in
// [0, 1].
struct Image {
  int64_t channels = 1;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<float> values;

  float at(int64_t c, int64_t y, int64_t x) const { return values[(c * height + y) * width + x]; }
};

class Transform {
 public:
  virtual ~Transform() = default;

  // The catalog name of the transform ("jpeg", "median", ...).
  virtual std::string Name() const = 0;

  // Returns the transformed image, same channels, height and width.
  // REQUIRES nothing of the caller: throws DefenseError naming the
  // transform and the problem if `image` has other than 1 or 3 channels, a
  // side below 1, a values size that does not match its shape, or a NaN or
  // infinite value.
  virtual Image Apply(const Image& image) const = 0;
};

// Whole-image JPEG encode/decode at `quality` (OpenCV imencode/imdecode;
// colour with libjpeg's default 4:2:0 chroma subsampling, as PIL). Throws
// DefenseError if quality is not a whole number in 1..100.
class JpegTransform : public Transform {
 public:
  explicit JpegTransform(int quality = 75);
  std::string Name() const override { return "jpeg"; }
  Image Apply(const Image& image) const override;

 private:
  int quality_;
};

// The SoK's JPEG defense (SHIELD's spatially localised quality with the
// single quality 90): the image is cut into 8x8 blocks from the top-left
// corner (the last row and column of blocks are smaller when a side is not
// a multiple of 8) and every block is JPEG-encoded and decoded on its own,
// so no block sees its neighbours. Throws DefenseError if quality is not a
// whole number in 1..100.
class BlockJpegTransform : public Transform {
 public:
  static constexpr int kBlock = 8;
  explicit BlockJpegTransform(int quality = 90);
  std::string Name() const override { return "block_jpeg"; }
  Image Apply(const Image& image) const override;

 private:
  int quality_;
};

// Non-local means (OpenCV fastNlMeansDenoising on 1 channel,
// fastNlMeansDenoisingColored with h for luma and colour on 3), as the SoK
// with h = 10, template window 7, search window 21. `h` is on the 0..255
// scale. Throws DefenseError naming the parameter if h is outside
// 0.1..255 or a window is not odd or outside 1..35 (template), 1..101
// (search).
class NonLocalMeansTransform : public Transform {
 public:
  explicit NonLocalMeansTransform(float h = 10, int template_window = 7, int search_window = 21);
  std::string Name() const override { return "nl_means"; }
  Image Apply(const Image& image) const override;

 private:
  float h_;
  int template_window_;
  int search_window_;
};

// k x k median filter per channel (OpenCV medianBlur; the border is
// replicated, which for k = 3 equals the artifact's scipy 'reflect').
// Throws DefenseError if k is not odd or outside 1..99.
class MedianTransform : public Transform {
 public:
  explicit MedianTransform(int k = 3);
  std::string Name() const override { return "median"; }
  Image Apply(const Image& image) const override;

 private:
  int k_;
};

// Bit-depth reduction (Feature Squeezing): v -> round(v * L) / L with
// L = 2^bits - 1, ties to even (as NumPy's rint), after clipping to [0, 1].
// No 8-bit step: bits = 8 maps every value to the nearest k/255. Throws
// DefenseError if bits is not a whole number in 1..8.
class BitDepthTransform : public Transform {
 public:
  explicit BitDepthTransform(int bits = 4);
  std::string Name() const override { return "bit_depth"; }
  Image Apply(const Image& image) const override;

 private:
  int bits_;
};

// The transform for a catalog entry and its completed parameters (see
// CompleteDefenseParams in defenses/catalog.h); nullptr for "none". Throws
// DefenseError for an unknown name, a catalog entry that is not an input
// transform (runtime caps, the input detector), or a missing or bad
// parameter.
std::unique_ptr<Transform> MakeTransform(const std::string& name, const ParamMap& params);

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_TRANSFORMS_H_
