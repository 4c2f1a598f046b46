// Tests for the D3 executor's sequence source on a tiny MOT17-layout root
// written here: sample i is the i-th sequence folder of ROOT/SPLIT, read at
// the requested size and max_frames, pedestrians labelled detector class 0;
// a range past the folders is a WorkerError naming the folder and range.
#include "workers/d3_sequences.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "common/error.h"
#include "data/mot_sequence.h"
#include "tests/support/data_files.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

using test::WriteFile;

// ROOT/train/NAME: 4 frames of 40 x 20, one pedestrian (class 1) and one
// static person (class 7).
void WriteSequence(const TempDir& dir, const std::string& name) {
  const std::string seq = "MOT/train/" + name;
  std::filesystem::create_directories(dir.File(seq + "/img1"));
  std::filesystem::create_directories(dir.File(seq + "/gt"));
  WriteFile(dir.File(seq + "/seqinfo.ini"),
            "[Sequence]\nname=" + name +
                "\nimDir=img1\nframeRate=30\nseqLength=4\nimWidth=40\nimHeight=20\nimExt=.png\n");
  std::string gt;
  for (int f = 1; f <= 4; ++f) {
    gt += std::to_string(f) + ",5,4,2,8,12,1,1,1\n";
    gt += std::to_string(f) + ",6,20,2,8,12,1,7,1\n";
    const std::string frame = seq + "/img1/00000" + std::to_string(f) + ".png";
    ASSERT_TRUE(cv::imwrite(dir.File(frame), cv::Mat(20, 40, CV_8UC1, cv::Scalar(30 * f))));
  }
  WriteFile(dir.File(seq + "/gt/gt.txt"), gt);
}

D3SequenceSet Mot(const TempDir& dir, int64_t max_frames) {
  D3SequenceSet set;
  set.dataset = kMot17Dataset;
  set.root = dir.File("MOT");
  set.split = "train";
  set.max_frames = max_frames;
  return set;
}

TEST(D3SequenceSourceTest, Mot17SampleIsTheIthFolderAtTheDetectorsSizeWithPedestriansAsClass0) {
  TempDir dir("d3-sequences");
  WriteSequence(dir, "B-02");
  WriteSequence(dir, "A-01");
  D3SequenceSource source;
  const Sequence s = source.Get(Mot(dir, 3), 0, 16);
  EXPECT_EQ(s.size, 16);
  ASSERT_EQ(s.frames.size(), 3u);  // max_frames
  ASSERT_EQ(s.frames[0].pixels.size(), 16u * 16u);
  for (const Frame& f : s.frames) {
    ASSERT_EQ(f.objects.size(), 1u);  // the class-7 person is dropped
    EXPECT_EQ(f.objects[0].label, 0);
  }
  EXPECT_EQ(source.Get(Mot(dir, 0), 1, 16).frames.size(), 4u);  // 0: every frame
  // Cached by folder, size and max_frames: a second read is the same.
  EXPECT_EQ(source.Get(Mot(dir, 3), 0, 16).frames[2].pixels, s.frames[2].pixels);
}

TEST(D3SequenceSourceTest, RangePastTheSequenceFoldersIsAWorkerErrorNamingFolderAndRange) {
  TempDir dir("d3-sequences");
  WriteSequence(dir, "A-01");
  D3SequenceSource source;
  source.CheckRange(Mot(dir, 0), 0, 1);
  try {
    source.CheckRange(Mot(dir, 0), 0, 3);
    FAIL() << "no WorkerError";
  } catch (const WorkerError& e) {
    const std::string want = "mot17 folder '" + dir.File("MOT") +
                             "/train' holds 1 sequence folders; range [0, 3) exceeds them";
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
  EXPECT_THROW(source.Get(Mot(dir, 0), 1, 16), WorkerError);
  D3SequenceSet other = Mot(dir, 0);
  other.dataset = "cifar10";
  EXPECT_THROW(source.CheckRange(other, 0, 1), WorkerError);
}

}  // namespace
}  // namespace effrobust
