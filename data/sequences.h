// Frame sequences in which Fashion-MNIST items move across a canvas, with
// ground-truth identities, MOT-style: the input of the detection + tracking
// victims (D3). Each item is a Fashion-MNIST image resized like a scene's
// (ResizedItem), moving at a constant velocity and bouncing off the canvas
// edges; some items are present for the whole sequence, others enter late
// or leave early, so a tracker must start and end tracks. Items may pass
// over each other: the one with the higher id is drawn on top, and the
// ground truth keeps the hidden one with its visible share.
// Deterministic: sequence i is a function of (seed, i) and the source set
// only. Train sequences should use the train split, test sequences the
// test split. Torch-free. Thread-safe (const).
#ifndef EFFROBUST_DATA_SEQUENCES_H_
#define EFFROBUST_DATA_SEQUENCES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/scenes.h"

namespace effrobust {

// One object in one frame.
struct FrameObject {
  int64_t id = 0;        // identity, stable across the sequence (0, 1, ...)
  int64_t label = 0;     // Fashion-MNIST class, 0..9
  Box box;               // tight box of the item's non-zero pixels on the canvas
  double visible = 1.0;  // share of those pixels not covered by items drawn later
};

struct Frame {
  std::vector<uint8_t> pixels;       // size x size, row-major
  std::vector<FrameObject> objects;  // present items, by id
};

struct Sequence {
  int64_t size = 0;  // canvas side in pixels
  std::vector<Frame> frames;
  int64_t identities = 0;  // number of distinct ids in the sequence
};

struct SequenceOptions {
  int64_t canvas = 64;     // Default: 64
  int64_t item_size = 20;  // Default: 20 (as SceneOptions)
  int64_t frames = 30;     // Default: 30
  int64_t min_items = 2;   // Default: 2 (items over the whole sequence)
  int64_t max_items = 5;   // Default: 5
  double max_speed = 2.0;  // Default: 2.0 (pixels per frame along each axis)
  // Default: 0.5 (share of items present only for part of the sequence: they
  // enter at a random frame in the first half and stay at least a quarter of
  // the frames)
  double partial_share = 0.5;
};

class SequenceGenerator {
 public:
  // `source` must outlive the generator. Throws DataError on bad options
  // (naming the option, its value and what is allowed) or a source that is
  // empty or not 28x28.
  SequenceGenerator(const ImageSet& source, uint64_t seed,
                    SequenceOptions options = SequenceOptions());

  // Sequence `index` (any non-negative integer).
  Sequence Make(int64_t index) const;

  const SequenceOptions& options() const { return options_; }

 private:
  const ImageSet& source_;
  uint64_t seed_;
  SequenceOptions options_;
};

// The "fashion-mnist-sequences" dataset (the D3 units' input): sequence i
// of split "train" ("test") is SequenceGenerator(Fashion-MNIST train
// (test), kSequenceTrainSeed (kSequenceTestSeed), SequenceOptions()).Make(i)
// for i < kSequenceTrainCount (kSequenceTestCount). Its frames are scenes of
// the same items, so a detector trained on fashion-mnist-scenes runs on it.
inline constexpr char kSequencesDataset[] = "fashion-mnist-sequences";
inline constexpr uint64_t kSequenceTrainSeed = 11;
inline constexpr uint64_t kSequenceTestSeed = 12;
inline constexpr int64_t kSequenceTrainCount = 10000;
inline constexpr int64_t kSequenceTestCount = 1000;

// The generator seed of a split of the sequences dataset. Throws DataError
// for a split other than "train" / "test".
uint64_t SequenceSplitSeed(const std::string& split);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_SEQUENCES_H_
