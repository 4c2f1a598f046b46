// Where the D3 executor's frame sequences come from, by the unit's dataset:
//   fashion-mnist-sequences  sequence i of the split is generated
//                            (data/sequences.h; Fashion-MNIST from
//                            DefaultFashionMnistDir(), loaded once per split);
//                            64 x 64 frames, labels the Fashion-MNIST classes
//   mot17                    sequence i of the split is the i-th folder of
//                            MotSequenceDirs(root, split) (data/mot_sequence.h),
//                            read by LoadMotSequence at the detector's image
//                            size, the first max_frames frames (0: all), the
//                            considered pedestrians (conf 1, class 1) as ground
//                            truth with label DetectorClassOfMotClass(1) = 0
// Read sequences are cached (MOT sequences by folder, size and max_frames,
// up to kMotCacheBytes of frames). Torch-free.
// Thread-safety: one source per executor (not thread-safe).
#ifndef EFFROBUST_WORKERS_D3_SEQUENCES_H_
#define EFFROBUST_WORKERS_D3_SEQUENCES_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/sequences.h"

namespace effrobust {

// Which sequences: a dataset's split (and for mot17 its root folder).
struct D3SequenceSet {
  std::string dataset;     // kSequencesDataset or kMot17Dataset
  std::string root;        // mot17: the MOT root (a unit's data_path); else unused
  std::string split;       // "train" / "test" (mot17: a subfolder of root)
  int64_t max_frames = 0;  // mot17: at most this many frames per sequence; 0: all
};

// The detector class of MOT ground-truth class `mot_class` (gt.txt; 1 =
// pedestrian): mot_class - 1 (docs/model-contract.md, "detection").
inline int64_t DetectorClassOfMotClass(int64_t mot_class) { return mot_class - 1; }

class D3SequenceSource {
 public:
  // Bytes of MOT frames kept in the cache (older sequences are dropped).
  static constexpr int64_t kMotCacheBytes = int64_t{256} << 20;

  // Throws WorkerError unless sequences [begin, end) exist in `set`: for
  // mot17 naming ROOT/SPLIT, its number of sequences and the range; for an
  // unknown dataset naming the allowed ones. DataError from the readers
  // (e.g. ROOT/SPLIT holding no sequence).
  void CheckRange(const D3SequenceSet& set, int64_t begin, int64_t end);

  // Sequence `index` of `set` with frames `size` x `size`. Throws
  // WorkerError when fashion-mnist-sequences frames are not `size` x `size`
  // or the index is out of range (as CheckRange), DataError from the
  // readers.
  Sequence Get(const D3SequenceSet& set, int64_t index, int64_t size);

 private:
  const ImageSet& Fmnist(const std::string& split);
  const std::vector<std::string>& MotDirs(const D3SequenceSet& set);

  std::map<std::string, ImageSet> fmnist_;                    // split -> images
  std::map<std::string, std::vector<std::string>> mot_dirs_;  // root/split -> folders
  std::map<std::string, Sequence> mot_;                       // folder#size#frames -> sequence
  std::deque<std::string> mot_order_;                         // cache keys, oldest first
  int64_t mot_bytes_ = 0;
};

}  // namespace effrobust

#endif  // EFFROBUST_WORKERS_D3_SEQUENCES_H_
