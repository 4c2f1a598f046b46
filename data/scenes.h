// Scenes composed from real Fashion-MNIST items, for the captioning (D2) and
// detection/tracking (D3) victims. A scene is a square grayscale canvas with
// 1..max_items items, each a Fashion-MNIST image resized (OpenCV INTER_AREA)
// to item_size x item_size and pasted at a position that does not overlap
// any other item; the annotations are every item's class, source image and
// tight box (the pixels above zero), and captions in several phrasings that
// name every item (counts, item names, left/right/above/below), so the
// caption length grows with the content.
// Deterministic: scene i is a function of (seed, i) and the source set only.
// Train scenes should be made from the train split, test scenes from the
// test split. Torch-free. Thread-safe (const).
#ifndef EFFROBUST_DATA_SCENES_H_
#define EFFROBUST_DATA_SCENES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"

namespace effrobust {

// Pixel box [x0, x1) x [y0, y1) on the canvas.
struct Box {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t area() const { return (x1 - x0) * (y1 - y0); }
  double cx() const { return 0.5 * static_cast<double>(x0 + x1); }
  double cy() const { return 0.5 * static_cast<double>(y0 + y1); }
};

struct SceneItem {
  int64_t label = 0;         // Fashion-MNIST class, 0..9
  int64_t source = 0;        // index of the item's image in the source set
  Box cell;                  // where the resized item image was pasted
  Box box;                   // tight box of its non-zero pixels (inside cell)
};

struct Scene {
  int64_t size = 0;                   // canvas side in pixels
  std::vector<uint8_t> pixels;        // size x size, row-major
  std::vector<SceneItem> items;       // in placement order
  std::vector<std::string> captions;  // every phrasing; captions[0] is the one trained on
};

struct SceneOptions {
  int64_t canvas = 64;     // Default: 64 (64 x 64 canvas)
  int64_t item_size = 20;  // Default: 20 (28 x 28 items resized to 20 x 20)
  int64_t min_items = 1;   // Default: 1
  int64_t max_items = 5;   // Default: 5
  int64_t gap = 1;         // Default: 1 (pixels kept free between items)
};

class SceneGenerator {
 public:
  // `source` must outlive the generator. Throws DataError on options that
  // cannot hold max_items non-overlapping items or an empty/non-28x28 source.
  SceneGenerator(const ImageSet& source, uint64_t seed, SceneOptions options = SceneOptions());

  // Scene `index` (any non-negative integer).
  Scene Make(int64_t index) const;

  const SceneOptions& options() const { return options_; }

 private:
  const ImageSet& source_;
  uint64_t seed_;
  SceneOptions options_;
};

// Image `index` of `source` (28 x 28) resized to side x side with OpenCV's
// INTER_AREA, row-major: how scenes and sequences show an item. Throws
// DataError if index is out of range or side < 1.
std::vector<uint8_t> ResizedItem(const ImageSet& source, int64_t index, int64_t side);

// The singular and plural noun phrase of Fashion-MNIST class `label`
// ("t-shirt"/"t-shirts", "ankle boot"/"ankle boots", ...).
std::string ItemName(int64_t label, bool plural = false);

// All phrasings of a scene's items (see scenes.cpp), lowercase words and ","
// separated by single spaces; every phrasing names each item, so the class
// multiset can be read back with ItemsNamed.
std::vector<std::string> CaptionsFor(const std::vector<SceneItem>& items, int64_t canvas);

// The "fashion-mnist-scenes" dataset: scene i of split "train" ("test") is
// SceneGenerator(Fashion-MNIST train (test), kSceneTrainSeed
// (kSceneTestSeed), SceneOptions()).Make(i), for i < kSceneTrainCount
// (kSceneTestCount). The captioner trainer draws its scenes from the same
// definition (MakeScenes with SceneSplitSeed), so a model and the D2 units
// that attack it see the same scenes.
inline constexpr char kScenesDataset[] = "fashion-mnist-scenes";
inline constexpr uint64_t kSceneTrainSeed = 1;
inline constexpr uint64_t kSceneTestSeed = 2;
inline constexpr int64_t kSceneTrainCount = 100000;
inline constexpr int64_t kSceneTestCount = 10000;

// The generator seed of a split of the scenes dataset. Throws DataError for
// a split other than "train" / "test".
uint64_t SceneSplitSeed(const std::string& split);

// Scenes [begin, end) of `generator`. Throws DataError if begin < 0 or
// end < begin.
std::vector<Scene> MakeScenes(const SceneGenerator& generator, int64_t begin, int64_t end);

// Class multiset named in a caption: counts[label] (size 10). Counts come
// from number words ("a", "an", "one".."five") before an item name.
std::vector<int64_t> ItemsNamed(const std::string& caption);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_SCENES_H_
