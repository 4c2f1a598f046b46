#include "data/sequences.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "common/error.h"
#include "common/hash.h"

namespace effrobust {

namespace {

// An item's path: present in frames [first, last), top-left corner at
// (x, y) in its first frame, moving by (vx, vy) per frame.
struct Path {
  int64_t source = 0;
  int64_t label = 0;
  int64_t first = 0, last = 0;
  double x = 0, y = 0, vx = 0, vy = 0;
};

// Moves p by v inside [0, hi], reflecting off both ends.
void Bounce(double* p, double* v, double hi) {
  *p += *v;
  if (*p < 0) {
    *p = -*p;
    *v = -*v;
  }
  if (*p > hi) {
    *p = 2 * hi - *p;
    *v = -*v;
  }
  *p = std::clamp(*p, 0.0, hi);
}

}  // namespace

SequenceGenerator::SequenceGenerator(const ImageSet& source, uint64_t seed, SequenceOptions options)
    : source_(source), seed_(seed), options_(options) {
  const SequenceOptions& o = options_;
  auto bad = [](const std::string& key, const std::string& value, const std::string& allowed) {
    throw DataError("sequence option '" + key + "' is " + value + " (allowed: " + allowed + ")");
  };
  if (source.count < 1 || source.channels != 1 || source.height != 28 || source.width != 28) {
    throw DataError("sequences need a non-empty 28 x 28 grayscale source set");
  }
  if (o.item_size < 4 || o.item_size > o.canvas) {
    bad("item_size", std::to_string(o.item_size), "4 .. canvas " + std::to_string(o.canvas));
  }
  if (o.frames < 4) bad("frames", std::to_string(o.frames), ">= 4");
  if (o.min_items < 1 || o.max_items < o.min_items) {
    bad("min_items/max_items", std::to_string(o.min_items) + "/" + std::to_string(o.max_items),
        "1 <= min_items <= max_items");
  }
  if (!(o.max_speed >= 0) || o.max_speed > static_cast<double>(o.canvas - o.item_size) + 1) {
    bad("max_speed", std::to_string(o.max_speed), "0 .. canvas - item_size");
  }
  if (!(o.partial_share >= 0 && o.partial_share <= 1)) {
    bad("partial_share", std::to_string(o.partial_share), "0 .. 1");
  }
}

Sequence SequenceGenerator::Make(int64_t index) const {
  const SequenceOptions& o = options_;
  std::mt19937_64 rng(MixSeed(seed_, 0x5e9ce7ULL, static_cast<uint64_t>(index)));
  auto uniform = [&rng](int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  auto real = [&rng](double lo, double hi) {
    return lo + (hi - lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53);
  };
  const double room = static_cast<double>(o.canvas - o.item_size);
  const int64_t n = uniform(o.min_items, o.max_items);
  std::vector<Path> paths(static_cast<size_t>(n));
  std::vector<std::vector<uint8_t>> looks;
  for (Path& p : paths) {
    p.source = uniform(0, source_.count - 1);
    p.label = source_.labels[static_cast<size_t>(p.source)];
    p.first = 0;
    p.last = o.frames;
    if (real(0, 1) < o.partial_share) {
      const int64_t stay = std::max<int64_t>(1, o.frames / 4);
      p.first = uniform(0, o.frames / 2);
      p.last = uniform(std::min(o.frames, p.first + stay), o.frames);
    }
    p.x = real(0, room);
    p.y = real(0, room);
    p.vx = real(-o.max_speed, o.max_speed);
    p.vy = real(-o.max_speed, o.max_speed);
    looks.push_back(ResizedItem(source_, p.source, o.item_size));
  }
  Sequence seq;
  seq.size = o.canvas;
  seq.identities = n;
  seq.frames.resize(static_cast<size_t>(o.frames));
  const int64_t side = o.item_size;
  // owner[pixel] = id drawn there last (-1: background), to measure visibility.
  std::vector<int64_t> owner;
  for (int64_t f = 0; f < o.frames; ++f) {
    Frame& frame = seq.frames[static_cast<size_t>(f)];
    frame.pixels.assign(static_cast<size_t>(o.canvas * o.canvas), 0);
    owner.assign(frame.pixels.size(), -1);
    std::vector<int64_t> drawn(static_cast<size_t>(n), 0);
    for (int64_t id = 0; id < n; ++id) {
      Path& p = paths[static_cast<size_t>(id)];
      if (f > 0) {
        Bounce(&p.x, &p.vx, room);
        Bounce(&p.y, &p.vy, room);
      }
      if (f < p.first || f >= p.last) continue;
      const int64_t x0 = std::lround(p.x), y0 = std::lround(p.y);
      const std::vector<uint8_t>& look = looks[static_cast<size_t>(id)];
      FrameObject obj;
      obj.id = id;
      obj.label = p.label;
      obj.box = Box{o.canvas, o.canvas, -1, -1};
      for (int64_t y = 0; y < side; ++y) {
        for (int64_t x = 0; x < side; ++x) {
          const uint8_t v = look[static_cast<size_t>(y * side + x)];
          if (v == 0) continue;
          const int64_t cx = x0 + x, cy = y0 + y;
          const size_t at = static_cast<size_t>(cy * o.canvas + cx);
          frame.pixels[at] = v;
          owner[at] = id;
          ++drawn[static_cast<size_t>(id)];
          obj.box.x0 = std::min(obj.box.x0, cx);
          obj.box.y0 = std::min(obj.box.y0, cy);
          obj.box.x1 = std::max(obj.box.x1, cx + 1);
          obj.box.y1 = std::max(obj.box.y1, cy + 1);
        }
      }
      if (obj.box.x1 <= obj.box.x0) obj.box = Box{x0, y0, x0 + side, y0 + side};
      frame.objects.push_back(obj);
    }
    std::vector<int64_t> shown(static_cast<size_t>(n), 0);
    for (int64_t who : owner) {
      if (who >= 0) ++shown[static_cast<size_t>(who)];
    }
    for (FrameObject& obj : frame.objects) {
      const int64_t d = drawn[static_cast<size_t>(obj.id)];
      obj.visible =
          d > 0 ? static_cast<double>(shown[static_cast<size_t>(obj.id)]) / static_cast<double>(d)
                : 0.0;
    }
  }
  return seq;
}

uint64_t SequenceSplitSeed(const std::string& split) {
  if (split == "train") return kSequenceTrainSeed;
  if (split == "test") return kSequenceTestSeed;
  throw DataError("split '" + split + "' of dataset '" + kSequencesDataset +
                  "' is not known (allowed: train, test)");
}

}  // namespace effrobust
