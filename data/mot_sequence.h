// Multi-object tracking sequences in the MOTChallenge layout (MOT17, also
// MOT16/MOT20 ground truth): a folder SEQ with
//   SEQ/seqinfo.ini   [Sequence] with name, imDir, frameRate, seqLength,
//                     imWidth, imHeight, imExt (key=value lines)
//   SEQ/img1/000001.jpg ...  frame f is SEQ/<imDir>/<f as 6 digits><imExt>
//   SEQ/gt/gt.txt     CSV lines frame,id,bb_left,bb_top,bb_width,bb_height,
//                     conf,class,visibility (frames from 1; conf 1 = consider,
//                     0 = ignore; class 1 = pedestrian; visibility 0..1)
// LoadMotSequence turns a folder into the Sequence of data/sequences.h (a
// square grey canvas per frame, boxes with identities 0..N-1), so the D3
// detection + tracking pipeline can consume it. Frames decoded and resized by
// OpenCV. Torch-free. Thread-safe.
#ifndef EFFROBUST_DATA_MOT_SEQUENCE_H_
#define EFFROBUST_DATA_MOT_SEQUENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/sequences.h"

namespace effrobust {

// The experiment dataset name of MOTChallenge-layout sequences
// (docs/experiment-format.md): `path` is a root with one folder per split
// (MOT17/train, MOT17/test), each holding sequence folders; sample i of a
// split is the i-th of MotSequenceDirs(path, split).
inline constexpr char kMot17Dataset[] = "mot17";

// The [Sequence] section of seqinfo.ini.
struct MotSeqInfo {
  std::string name;       // "name" (the folder's name if absent)
  std::string im_dir;     // "imDir", e.g. "img1"
  double frame_rate = 0;  // "frameRate", > 0
  int64_t length = 0;     // "seqLength": frames 1..length, >= 1
  int64_t width = 0;      // "imWidth", >= 1
  int64_t height = 0;     // "imHeight", >= 1
  std::string im_ext;     // "imExt", e.g. ".jpg"
};

// Parses SEQ/seqinfo.ini. Throws DataError naming the file (and line and key
// where there is one) if it is missing, has a line that is neither
// "[section]", "key=value", a comment (; or #) nor blank, lacks one of the
// keys imDir, frameRate, seqLength, imWidth, imHeight, imExt, or has a value
// that is not a number in range.
MotSeqInfo ReadMotSeqInfo(const std::string& seq_dir);

// One line of gt.txt.
struct MotGtRow {
  int64_t line = 0;  // 1-based line number in the file
  int64_t frame = 0;
  int64_t id = 0;
  double left = 0, top = 0, width = 0, height = 0;  // pixels, as in the file
  double conf = 0;                                  // gt: 1 consider, 0 ignore
  int64_t cls = 0;                                  // gt: 1 pedestrian, ...
  double visibility = 0;                            // 0..1
};

// Parses a gt.txt file (blank lines skipped). Throws DataError naming the
// file, the line and the field (by number and name) for a line without
// exactly 9 comma-separated fields, a field that is not a number, a frame,
// id or class that is not an integer, a frame below 1, a width or height
// not above 0, or a visibility outside 0..1.
std::vector<MotGtRow> ReadMotGroundTruth(const std::string& gt_path);

// SEQ/<imDir>/<frame, 6 digits><imExt>, e.g. "SEQ/img1/000042.jpg".
std::string MotFramePath(const std::string& seq_dir, const MotSeqInfo& info, int64_t frame);

struct MotOptions {
  int64_t size = 64;        // Default: 64 (frames resized to size x size grey, OpenCV INTER_AREA;
                            // aspect not kept; boxes scaled alike and clipped to the canvas)
  int64_t max_frames = -1;  // Default: -1 (all seqLength frames; else the first N)
  bool considered_only = true;         // Default: true (drop gt rows with conf 0)
  std::vector<int64_t> classes = {1};  // Default: {1} (pedestrians; empty keeps every class)
  double min_visibility = 0.0;         // Default: 0 (drop rows less visible than this)
};

struct MotSequence {
  MotSeqInfo info;
  // frames[f] is file frame f + 1 on a size x size grey canvas; its objects
  // are the kept gt rows of that frame (box scaled and clipped, dropped if
  // nothing is left on the canvas), sorted by id, with label = MOT class and
  // visible = visibility. Ids are 0..identities-1 in order of first
  // appearance.
  Sequence sequence;
  std::vector<int64_t> track_ids;   // the gt.txt id of each sequence id
  double scale_x = 1, scale_y = 1;  // canvas pixels per frame pixel
};

// Reads SEQ (seqinfo.ini, gt/gt.txt, the frames). Throws DataError as
// ReadMotSeqInfo / ReadMotGroundTruth; naming the gt.txt line for a frame
// beyond seqLength or an id seen twice in one frame; naming the frame file
// when it is missing, cannot be decoded, or is not imWidth x imHeight; and
// for options.size < 1.
MotSequence LoadMotSequence(const std::string& seq_dir, const MotOptions& options = MotOptions());

// The sequence folders of ROOT/SPLIT, i.e. its subfolders holding a
// seqinfo.ini, sorted by name (full paths). Throws DataError naming
// ROOT/SPLIT if it is not a directory or holds no such folder.
std::vector<std::string> MotSequenceDirs(const std::string& root, const std::string& split);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_MOT_SEQUENCE_H_
