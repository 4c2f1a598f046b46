// Tests for the MOTChallenge (MOT17) sequence folder reader, on a tiny
// sequence written here: seqinfo.ini, img1/00000N.jpg (cv::imwrite) and
// gt/gt.txt.
#include "data/mot_sequence.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/support/data_files.h"
#include "tests/support/temp_dir.h"

namespace effrobust {
namespace {

using test::DataErrorOf;
using test::WriteFile;

constexpr char kSeqInfo[] =
    "[Sequence]\n"
    "name=TINY-01\n"
    "imDir=img1\n"
    "frameRate=30\n"
    "seqLength=3\n"
    "imWidth=32\n"
    "imHeight=16\n"
    "imExt=.jpg\n";

// gt.txt: track 7 in frames 1-3, track 3 in frames 2-3 (listed after 7's
// rows, as MOT17 sorts by id then frame), an ignored row (conf 0), a
// non-pedestrian (class 7, static person), and a box partly off the frame.
constexpr char kGt[] =
    "1,7,4,2,8,6,1,1,1\n"
    "2,7,6,2,8,6,1,1,0.75\n"
    "3,7,8,2,8,6,1,1,0.5\n"
    "2,3,20,0,4,16,1,1,1\n"
    "3,3,-4,4,8,4,1,1,0.25\n"
    "1,9,0,0,10,10,0,1,1\n"
    "3,11,10,10,2,2,1,7,1\n";

// Frame f (1-based) is a flat grey of value 40 * f + 20, w x h.
void WriteSequence(const TempDir& dir, const std::string& seqinfo = kSeqInfo,
                   const std::string& gt = kGt, int w = 32, int h = 16,
                   const std::string& ext = ".jpg") {
  std::filesystem::create_directories(dir.File("TINY-01/img1"));
  std::filesystem::create_directories(dir.File("TINY-01/gt"));
  WriteFile(dir.File("TINY-01/seqinfo.ini"), seqinfo);
  WriteFile(dir.File("TINY-01/gt/gt.txt"), gt);
  for (int f = 1; f <= 3; ++f) {
    const std::string name = "TINY-01/img1/00000" + std::to_string(f) + ext;
    ASSERT_TRUE(cv::imwrite(dir.File(name), cv::Mat(h, w, CV_8UC3, cv::Scalar::all(40 * f + 20))));
  }
}

TEST(MotSequenceTest, ReadsSeqInfoKeys) {
  TempDir dir("mot");
  WriteSequence(dir);
  const MotSeqInfo info = ReadMotSeqInfo(dir.File("TINY-01"));
  EXPECT_EQ(info.name, "TINY-01");
  EXPECT_EQ(info.im_dir, "img1");
  EXPECT_DOUBLE_EQ(info.frame_rate, 30);
  EXPECT_EQ(info.length, 3);
  EXPECT_EQ(info.width, 32);
  EXPECT_EQ(info.height, 16);
  EXPECT_EQ(info.im_ext, ".jpg");
  EXPECT_EQ(MotFramePath("S", info, 42), "S/img1/000042.jpg");
}

TEST(MotSequenceTest, ReadsEveryGtFieldWithLineNumbers) {
  TempDir dir("mot");
  WriteSequence(dir);
  const std::vector<MotGtRow> rows = ReadMotGroundTruth(dir.File("TINY-01/gt/gt.txt"));
  ASSERT_EQ(rows.size(), 7u);
  const MotGtRow& r = rows[4];  // "3,3,-4,4,8,4,1,1,0.25"
  EXPECT_EQ(r.line, 5);
  EXPECT_EQ(r.frame, 3);
  EXPECT_EQ(r.id, 3);
  EXPECT_DOUBLE_EQ(r.left, -4);
  EXPECT_DOUBLE_EQ(r.top, 4);
  EXPECT_DOUBLE_EQ(r.width, 8);
  EXPECT_DOUBLE_EQ(r.height, 4);
  EXPECT_DOUBLE_EQ(r.conf, 1);
  EXPECT_EQ(r.cls, 1);
  EXPECT_DOUBLE_EQ(r.visibility, 0.25);
  EXPECT_DOUBLE_EQ(rows[5].conf, 0);
  EXPECT_EQ(rows[6].cls, 7);
}

TEST(MotSequenceTest, BuildsASequenceWithScaledBoxesAndDenseIds) {
  TempDir dir("mot");
  WriteSequence(dir);
  MotOptions options;
  options.size = 16;  // 32x16 frames -> 16x16: x halves, y stays
  const MotSequence mot = LoadMotSequence(dir.File("TINY-01"), options);
  EXPECT_DOUBLE_EQ(mot.scale_x, 0.5);
  EXPECT_DOUBLE_EQ(mot.scale_y, 1.0);
  const Sequence& s = mot.sequence;
  EXPECT_EQ(s.size, 16);
  ASSERT_EQ(s.frames.size(), 3u);
  // Ids by first appearance in the file: gt 7 -> 0, gt 3 -> 1; the ignored
  // (conf 0) track 9 and the class-7 track 11 are dropped.
  EXPECT_EQ(mot.track_ids, (std::vector<int64_t>{7, 3}));
  EXPECT_EQ(s.identities, 2);

  ASSERT_EQ(s.frames[0].objects.size(), 1u);
  const FrameObject& a = s.frames[0].objects[0];
  EXPECT_EQ(a.id, 0);
  EXPECT_EQ(a.label, 1);
  EXPECT_EQ(a.box.x0, 2);  // 4 * 0.5
  EXPECT_EQ(a.box.x1, 6);  // (4 + 8) * 0.5
  EXPECT_EQ(a.box.y0, 2);
  EXPECT_EQ(a.box.y1, 8);
  EXPECT_DOUBLE_EQ(a.visible, 1.0);

  ASSERT_EQ(s.frames[1].objects.size(), 2u);
  EXPECT_EQ(s.frames[1].objects[0].id, 0);  // sorted by id
  EXPECT_DOUBLE_EQ(s.frames[1].objects[0].visible, 0.75);
  const Box& b = s.frames[1].objects[1].box;  // gt 3: 20,0,4,16
  EXPECT_EQ(b.x0, 10);
  EXPECT_EQ(b.x1, 12);
  EXPECT_EQ(b.y0, 0);
  EXPECT_EQ(b.y1, 16);

  ASSERT_EQ(s.frames[2].objects.size(), 2u);
  const Box& c = s.frames[2].objects[1].box;  // gt 3: -4,4,8,4 -> clipped at x = 0
  EXPECT_EQ(c.x0, 0);
  EXPECT_EQ(c.x1, 2);
  EXPECT_EQ(c.y0, 4);
  EXPECT_EQ(c.y1, 8);

  // Frames: grey, size x size, values of the flat JPEGs (40 f + 20).
  for (int f = 0; f < 3; ++f) {
    ASSERT_EQ(s.frames[f].pixels.size(), 256u);
    for (uint8_t p : s.frames[f].pixels) ASSERT_NEAR(p, 40 * (f + 1) + 20, 2) << "frame " << f;
  }
}

TEST(MotSequenceTest, OptionsKeepIgnoredRowsOtherClassesAndFewerFrames) {
  TempDir dir("mot");
  WriteSequence(dir);
  MotOptions options;
  options.size = 16;
  options.considered_only = false;
  options.classes = {};
  options.max_frames = 1;
  const MotSequence mot = LoadMotSequence(dir.File("TINY-01"), options);
  ASSERT_EQ(mot.sequence.frames.size(), 1u);
  EXPECT_EQ(mot.track_ids, (std::vector<int64_t>{7, 9}));  // 9 is conf 0, kept now
  ASSERT_EQ(mot.sequence.frames[0].objects.size(), 2u);

  options.max_frames = -1;
  options.min_visibility = 0.6;
  const MotSequence visible = LoadMotSequence(dir.File("TINY-01"), options);
  EXPECT_EQ(visible.sequence.frames[2].objects.size(), 1u);  // only track 11 (visibility 1)
  EXPECT_EQ(visible.track_ids, (std::vector<int64_t>{7, 3, 9, 11}));
}

TEST(MotSequenceTest, ReadsLosslessFramesExactlyAtNativeSize) {
  TempDir dir("mot");
  std::string info = kSeqInfo;
  info.replace(info.find("imWidth=32"), 10, "imWidth=16");
  info.replace(info.find("imExt=.jpg"), 10, "imExt=.png");
  WriteSequence(dir, info, "1,1,1,1,2,2,1,1,1\n", 16, 16, ".png");
  cv::Mat ramp(16, 16, CV_8UC1);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) ramp.at<uint8_t>(y, x) = static_cast<uint8_t>(16 * y + x);
  }
  ASSERT_TRUE(cv::imwrite(dir.File("TINY-01/img1/000002.png"), ramp));
  MotOptions options;
  options.size = 16;
  const MotSequence mot = LoadMotSequence(dir.File("TINY-01"), options);
  const std::vector<uint8_t>& p = mot.sequence.frames[1].pixels;
  ASSERT_EQ(p.size(), 256u);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(p[i], i) << "pixel " << i;
  EXPECT_EQ(mot.sequence.frames[0].pixels[0], 60);
}

TEST(MotSequenceTest, MalformedGtLineNamesFileLineAndField) {
  TempDir dir("mot");
  WriteSequence(dir, kSeqInfo, "1,7,4,2,8,6,1,1,1\n\n2,7,6,two,8,6,1,1,1\n");
  std::string msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("[data] '" + dir.File("TINY-01/gt/gt.txt") +
                     "' line 3 field 4 (bb_top): "
                     "'two' is not a number"),
            std::string::npos)
      << msg;

  WriteFile(dir.File("TINY-01/gt/gt.txt"), "1,7,4,2,8,6,1,1\n");
  msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("line 1 has 8 fields, expected 9"), std::string::npos) << msg;

  WriteFile(dir.File("TINY-01/gt/gt.txt"), "1,7.5,4,2,8,6,1,1,1\n");
  msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("line 1 field 2 (id): '7.5' is not an integer"), std::string::npos) << msg;

  WriteFile(dir.File("TINY-01/gt/gt.txt"), "1,7,4,2,0,6,1,1,1\n");
  msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("line 1 field 5 (bb_width): 0 is not above 0"), std::string::npos) << msg;

  WriteFile(dir.File("TINY-01/gt/gt.txt"), "1,7,4,2,8,6,1,1,1\n4,7,4,2,8,6,1,1,1\n");
  msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("line 2 field 1 (frame): 4 is beyond seqLength 3"), std::string::npos) << msg;

  WriteFile(dir.File("TINY-01/gt/gt.txt"), "1,7,4,2,8,6,1,1,1\n1,7,5,2,8,6,1,1,1\n");
  msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("line 2 field 2 (id): id 7 appears twice in frame 1 (also line 1)"),
            std::string::npos)
      << msg;
}

TEST(MotSequenceTest, MissingFrameOrSeqInfoKeyIsAnErrorNamingTheFile) {
  TempDir dir("mot");
  WriteSequence(dir);
  std::filesystem::remove(dir.File("TINY-01/img1/000003.jpg"));
  std::string msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("missing frame 3 '" + dir.File("TINY-01/img1/000003.jpg") + "'"),
            std::string::npos)
      << msg;
  MotOptions two;
  two.max_frames = 2;
  EXPECT_EQ(LoadMotSequence(dir.File("TINY-01"), two).sequence.frames.size(), 2u);

  std::string info = kSeqInfo;
  info.erase(info.find("imHeight=16\n"), 12);
  WriteFile(dir.File("TINY-01/seqinfo.ini"), info);
  msg = DataErrorOf([&] { ReadMotSeqInfo(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("'" + dir.File("TINY-01/seqinfo.ini") + "' has no value for key 'imHeight'"),
            std::string::npos)
      << msg;

  info = kSeqInfo;
  info.replace(info.find("seqLength=3"), 11, "seqLength=x");
  WriteFile(dir.File("TINY-01/seqinfo.ini"), info);
  msg = DataErrorOf([&] { ReadMotSeqInfo(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("line 5: seqLength 'x' is not a positive integer"), std::string::npos) << msg;
}

TEST(MotSequenceTest, FrameOfTheWrongSizeIsAnError) {
  TempDir dir("mot");
  WriteSequence(dir);
  ASSERT_TRUE(
      cv::imwrite(dir.File("TINY-01/img1/000002.jpg"), cv::Mat(16, 30, CV_8UC1, cv::Scalar(0))));
  const std::string msg = DataErrorOf([&] { LoadMotSequence(dir.File("TINY-01")); });
  EXPECT_NE(msg.find("frame '" + dir.File("TINY-01/img1/000002.jpg") + "' is 30x16"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("imWidth x imHeight = 32x16"), std::string::npos) << msg;
}

}  // namespace
}  // namespace effrobust
