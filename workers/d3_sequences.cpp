#include "workers/d3_sequences.h"

#include "common/error.h"
#include "data/mot_sequence.h"

namespace effrobust {

const ImageSet& D3SequenceSource::Fmnist(const std::string& split) {
  auto it = fmnist_.find(split);
  if (it != fmnist_.end()) return it->second;
  return fmnist_.emplace(split, LoadFashionMnist(DefaultFashionMnistDir(), split)).first->second;
}

const std::vector<std::string>& D3SequenceSource::MotDirs(const D3SequenceSet& set) {
  const std::string key = set.root + "/" + set.split;
  auto it = mot_dirs_.find(key);
  if (it != mot_dirs_.end()) return it->second;
  return mot_dirs_.emplace(key, MotSequenceDirs(set.root, set.split)).first->second;
}

void D3SequenceSource::CheckRange(const D3SequenceSet& set, int64_t begin, int64_t end) {
  if (set.dataset == kSequencesDataset) return;  // generated: every index exists
  if (set.dataset != kMot17Dataset) {
    throw WorkerError("dataset '" + set.dataset + "' is not one the D3 executor reads (allowed: " +
                      kSequencesDataset + ", " + kMot17Dataset + ")");
  }
  const int64_t n = static_cast<int64_t>(MotDirs(set).size());
  if (begin < 0 || end > n || begin > end) {
    throw WorkerError("mot17 folder '" + set.root + "/" + set.split + "' holds " +
                      std::to_string(n) + " sequence folders; range [" + std::to_string(begin) +
                      ", " + std::to_string(end) + ") exceeds them");
  }
}

Sequence D3SequenceSource::Get(const D3SequenceSet& set, int64_t index, int64_t size) {
  if (set.dataset == kSequencesDataset) {
    SequenceGenerator generator(Fmnist(set.split), SequenceSplitSeed(set.split));
    const int64_t canvas = generator.options().canvas;
    if (size != canvas) {
      throw WorkerError("the detector takes " + std::to_string(size) + " x " +
                        std::to_string(size) + " images but " + kSequencesDataset + " frames are " +
                        std::to_string(canvas) + " x " + std::to_string(canvas));
    }
    return generator.Make(index);
  }
  CheckRange(set, index, index + 1);
  const std::string dir = MotDirs(set)[static_cast<size_t>(index)];
  const std::string key = dir + "#" + std::to_string(size) + "#" + std::to_string(set.max_frames);
  auto it = mot_.find(key);
  if (it != mot_.end()) return it->second;
  MotOptions o;
  o.size = size;
  o.max_frames = set.max_frames > 0 ? set.max_frames : -1;
  Sequence s = LoadMotSequence(dir, o).sequence;
  for (Frame& f : s.frames) {
    for (FrameObject& obj : f.objects) obj.label = DetectorClassOfMotClass(obj.label);
  }
  const int64_t bytes = static_cast<int64_t>(s.frames.size()) * size * size;
  while (!mot_order_.empty() && mot_bytes_ + bytes > kMotCacheBytes) {
    const std::string& oldest = mot_order_.front();
    const Sequence& old = mot_.at(oldest);
    mot_bytes_ -= static_cast<int64_t>(old.frames.size()) * old.size * old.size;
    mot_.erase(oldest);
    mot_order_.pop_front();
  }
  mot_order_.push_back(key);
  mot_bytes_ += bytes;
  return mot_.emplace(key, std::move(s)).first->second;
}

}  // namespace effrobust
