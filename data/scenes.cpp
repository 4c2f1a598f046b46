#include "data/scenes.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include "common/error.h"
#include "common/hash.h"

namespace effrobust {

namespace {

constexpr int64_t kClasses = 10;
constexpr int kPlacementTries = 200;

const char* const kSingular[kClasses] = {"t-shirt", "trouser", "pullover", "dress",   "coat",
                                         "sandal",  "shirt",   "sneaker",  "bag",     "ankle boot"};
const char* const kPlural[kClasses] = {"t-shirts", "trousers", "pullovers", "dresses", "coats",
                                       "sandals",  "shirts",   "sneakers",  "bags",    "ankle boots"};
const char* const kCount[] = {"no", "a", "two", "three", "four", "five",
                              "six", "seven", "eight", "nine"};

// "a coat", "an ankle boot", "two coats".
std::string Counted(int64_t label, int64_t n) {
  if (n == 1) return std::string(label == 9 ? "an " : "a ") + ItemName(label);
  const std::string count = n < 10 ? kCount[n] : std::to_string(n);
  return count + " " + ItemName(label, true);
}

// "x", "x and y", "x , y and z".
std::string JoinList(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += (i + 1 == parts.size()) ? " and " : " , ";
    out += parts[i];
  }
  return out;
}

// Where a point lies on the canvas, in thirds: "top left", "center", ...
std::string Region(double cx, double cy, int64_t canvas) {
  const double third = static_cast<double>(canvas) / 3.0;
  const int col = cx < third ? 0 : (cx < 2 * third ? 1 : 2);
  const int row = cy < third ? 0 : (cy < 2 * third ? 1 : 2);
  static const char* const kRows[] = {"top", "", "bottom"};
  static const char* const kCols[] = {"left", "", "right"};
  if (row == 1 && col == 1) return "center";
  if (row == 1) return kCols[col];
  if (col == 1) return kRows[row];
  return std::string(kRows[row]) + " " + kCols[col];
}

bool Overlaps(const Box& a, const Box& b, int64_t gap) {
  return a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap;
}

}  // namespace

std::vector<uint8_t> ResizedItem(const ImageSet& source, int64_t index, int64_t side) {
  if (index < 0 || index >= source.count || side < 1 || source.height != 28 || source.width != 28) {
    throw DataError("item " + std::to_string(index) + " at side " + std::to_string(side) +
                    " (allowed: 0 <= item < " + std::to_string(source.count) +
                    " of a 28 x 28 set, side >= 1)");
  }
  cv::Mat src(28, 28, CV_8UC1, const_cast<uint8_t*>(source.pixels.data() + index * 28 * 28));
  cv::Mat small;
  cv::resize(src, small, cv::Size(static_cast<int>(side), static_cast<int>(side)), 0, 0,
             cv::INTER_AREA);
  return std::vector<uint8_t>(small.data, small.data + side * side);
}

std::string ItemName(int64_t label, bool plural) {
  if (label < 0 || label >= kClasses) {
    throw DataError("Fashion-MNIST class " + std::to_string(label) + " is not in 0..9");
  }
  return plural ? kPlural[label] : kSingular[label];
}

SceneGenerator::SceneGenerator(const ImageSet& source, uint64_t seed, SceneOptions options)
    : source_(source), seed_(seed), options_(options) {
  const SceneOptions& o = options_;
  if (source.count < 1 || source.channels != 1 || source.height != 28 || source.width != 28) {
    throw DataError("scenes need a non-empty set of 1 x 28 x 28 Fashion-MNIST images");
  }
  const int64_t per_side = o.item_size > 0 ? (o.canvas + o.gap) / (o.item_size + o.gap) : 0;
  if (o.item_size < 4 || o.item_size > o.canvas || o.gap < 0 || o.min_items < 1 ||
      o.max_items < o.min_items || per_side * per_side < o.max_items) {
    throw DataError("scene options canvas " + std::to_string(o.canvas) + ", item_size " +
                    std::to_string(o.item_size) + ", gap " + std::to_string(o.gap) + ", items " +
                    std::to_string(o.min_items) + ".." + std::to_string(o.max_items) +
                    " cannot hold the items without overlap (allowed: item_size >= 4, 1 <= "
                    "min_items <= max_items <= (canvas + gap) / (item_size + gap) squared)");
  }
}

Scene SceneGenerator::Make(int64_t index) const {
  const SceneOptions& o = options_;
  std::mt19937_64 rng(MixSeed(seed_, 0x5ce7e5ULL, static_cast<uint64_t>(index)));
  auto uniform = [&rng](int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  const int64_t n = uniform(o.min_items, o.max_items);
  // Positions: rejection sampling, restarted from scratch if a layout gets stuck.
  std::vector<Box> cells;
  while (static_cast<int64_t>(cells.size()) < n) {
    cells.clear();
    for (int64_t k = 0; k < n; ++k) {
      bool placed = false;
      for (int t = 0; t < kPlacementTries && !placed; ++t) {
        Box c;
        c.x0 = uniform(0, o.canvas - o.item_size);
        c.y0 = uniform(0, o.canvas - o.item_size);
        c.x1 = c.x0 + o.item_size;
        c.y1 = c.y0 + o.item_size;
        placed = std::none_of(cells.begin(), cells.end(),
                              [&](const Box& b) { return Overlaps(b, c, o.gap); });
        if (placed) cells.push_back(c);
      }
      if (!placed) break;
    }
  }
  Scene scene;
  scene.size = o.canvas;
  scene.pixels.assign(static_cast<size_t>(o.canvas * o.canvas), 0);
  const int side = static_cast<int>(o.item_size);
  for (const Box& cell : cells) {
    SceneItem item;
    item.source = uniform(0, source_.count - 1);
    item.label = source_.labels[static_cast<size_t>(item.source)];
    item.cell = cell;
    const std::vector<uint8_t> small = ResizedItem(source_, item.source, side);
    Box tight{o.canvas, o.canvas, -1, -1};
    for (int y = 0; y < side; ++y) {
      for (int x = 0; x < side; ++x) {
        const uint8_t v = small[static_cast<size_t>(y * side + x)];
        if (v == 0) continue;
        const int64_t cx = cell.x0 + x, cy = cell.y0 + y;
        scene.pixels[static_cast<size_t>(cy * o.canvas + cx)] = v;
        tight.x0 = std::min(tight.x0, cx);
        tight.y0 = std::min(tight.y0, cy);
        tight.x1 = std::max(tight.x1, cx + 1);
        tight.y1 = std::max(tight.y1, cy + 1);
      }
    }
    item.box = tight.x1 > tight.x0 ? tight : cell;
    scene.items.push_back(item);
  }
  scene.captions = CaptionsFor(scene.items, o.canvas);
  // The trained-on phrasing is drawn per scene, so lengths vary with phrasing too.
  std::swap(scene.captions[0], scene.captions[static_cast<size_t>(
                                   uniform(0, static_cast<int64_t>(scene.captions.size()) - 1))]);
  return scene;
}

// Phrasings, items ordered left to right (ties: top first):
//  0 counts:    "there are two shirts and a bag" / "there is a coat and a bag"
//  1 sequence:  "from left to right : a shirt , a bag and a shirt"
//  2 places:    "a shirt at the top left , a bag at the center ..."
//  3 relation (2 items): "a shirt to the left of a bag" / "a shirt above a bag";
//    otherwise "N items : " + the sequence.
std::vector<std::string> CaptionsFor(const std::vector<SceneItem>& items, int64_t canvas) {
  std::vector<SceneItem> sorted = items;
  std::stable_sort(sorted.begin(), sorted.end(), [](const SceneItem& a, const SceneItem& b) {
    return a.cell.cx() != b.cell.cx() ? a.cell.cx() < b.cell.cx() : a.cell.cy() < b.cell.cy();
  });
  std::vector<int64_t> order;  // classes by first appearance
  std::map<int64_t, int64_t> count;
  for (const auto& it : sorted) {
    if (count[it.label]++ == 0) order.push_back(it.label);
  }
  std::vector<std::string> groups, singles, places;
  for (int64_t label : order) groups.push_back(Counted(label, count[label]));
  for (const auto& it : sorted) {
    singles.push_back(Counted(it.label, 1));
    places.push_back(Counted(it.label, 1) + " at the " +
                     Region(it.box.cx(), it.box.cy(), canvas));
  }
  const bool one = sorted.size() == 1;
  std::vector<std::string> out;
  out.push_back(std::string(count[order[0]] == 1 ? "there is " : "there are ") + JoinList(groups));
  out.push_back(one ? singles[0] : "from left to right : " + JoinList(singles));
  out.push_back(JoinList(places));
  if (sorted.size() == 2) {
    const SceneItem& a = sorted[0];
    const SceneItem& b = sorted[1];
    const double dx = b.box.cx() - a.box.cx(), dy = b.box.cy() - a.box.cy();
    if (std::abs(dx) >= std::abs(dy)) {
      out.push_back(singles[0] + " to the left of " + singles[1]);
    } else {
      out.push_back(singles[0] + (dy > 0 ? " above " : " below ") + singles[1]);
    }
  } else if (!one) {
    out.push_back(std::string(kCount[sorted.size()]) + " items : " + JoinList(singles));
  }
  return out;
}

std::vector<int64_t> ItemsNamed(const std::string& caption) {
  std::vector<std::string> words;
  std::istringstream in(caption);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<int64_t> counts(kClasses, 0);
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    int64_t n = 0;
    if (words[i] == "a" || words[i] == "an" || words[i] == "one") n = 1;
    for (int64_t c = 2; c < 10; ++c) {
      if (words[i] == kCount[c]) n = c;
    }
    if (n == 0) continue;
    const std::string one_word = words[i + 1];
    const std::string two_words = i + 2 < words.size() ? one_word + " " + words[i + 2] : "";
    for (int64_t label = 0; label < kClasses; ++label) {
      const std::string name = n == 1 ? kSingular[label] : kPlural[label];
      if (name == one_word || name == two_words) {
        counts[label] += n;
        break;
      }
    }
  }
  return counts;
}

uint64_t SceneSplitSeed(const std::string& split) {
  if (split == "train") return kSceneTrainSeed;
  if (split == "test") return kSceneTestSeed;
  throw DataError("split '" + split + "' of dataset '" + kScenesDataset +
                  "' is not known (allowed: train, test)");
}

std::vector<Scene> MakeScenes(const SceneGenerator& generator, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin) {
    throw DataError("scene range [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") is invalid (allowed: 0 <= begin <= end)");
  }
  std::vector<Scene> out;
  out.reserve(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) out.push_back(generator.Make(i));
  return out;
}

}  // namespace effrobust
