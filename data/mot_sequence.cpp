#include "data/mot_sequence.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"

namespace effrobust {

namespace {

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  if (dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The whole of `s` as a finite number; false if it is not one.
bool ParseDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// The whole of `s` as an integer ("12" or "12.0"); false otherwise.
bool ParseInteger(const std::string& s, int64_t* out) {
  double v = 0;
  if (!ParseDouble(s, &v) || v != std::floor(v) || std::fabs(v) > 9e15) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

constexpr const char* kGtFields[] = {"frame",     "id",   "bb_left", "bb_top",    "bb_width",
                                     "bb_height", "conf", "class",   "visibility"};
constexpr int kGtFieldCount = 9;

int64_t ClampToCanvas(double v, int64_t size) {
  const int64_t r = static_cast<int64_t>(std::lround(v));
  return std::min<int64_t>(std::max<int64_t>(r, 0), size);
}

}  // namespace

MotSeqInfo ReadMotSeqInfo(const std::string& seq_dir) {
  const std::string path = JoinPath(seq_dir, "seqinfo.ini");
  std::ifstream in(path);
  if (!in) {
    throw DataError("cannot open '" + path +
                    "': file missing or unreadable (expected a MOTChallenge sequence folder with "
                    "seqinfo.ini, img1/ and gt/gt.txt)");
  }
  std::map<std::string, std::pair<std::string, int64_t>> values;  // key -> (value, line)
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string t = Trim(line);
    if (t.empty() || t[0] == ';' || t[0] == '#' || (t.front() == '[' && t.back() == ']')) {
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos) {
      throw DataError("'" + path + "' line " + std::to_string(number) + ": '" + t +
                      "' is not key=value");
    }
    values[Trim(t.substr(0, eq))] = {Trim(t.substr(eq + 1)), number};
  }
  auto get = [&](const std::string& key) -> std::pair<std::string, int64_t> {
    const auto it = values.find(key);
    if (it == values.end() || it->second.first.empty()) {
      throw DataError("'" + path + "' has no value for key '" + key + "'");
    }
    return it->second;
  };
  auto integer = [&](const std::string& key) {
    const auto v = get(key);
    int64_t n = 0;
    if (!ParseInteger(v.first, &n) || n < 1) {
      throw DataError("'" + path + "' line " + std::to_string(v.second) + ": " + key + " '" +
                      v.first + "' is not a positive integer");
    }
    return n;
  };
  MotSeqInfo info;
  const auto name = values.find("name");
  info.name = name != values.end() && !name->second.first.empty()
                  ? name->second.first
                  : std::filesystem::path(seq_dir).filename().string();
  if (info.name.empty())
    info.name = std::filesystem::path(seq_dir).parent_path().filename().string();
  info.im_dir = get("imDir").first;
  const auto rate = get("frameRate");
  if (!ParseDouble(rate.first, &info.frame_rate) || info.frame_rate <= 0) {
    throw DataError("'" + path + "' line " + std::to_string(rate.second) + ": frameRate '" +
                    rate.first + "' is not a positive number");
  }
  info.length = integer("seqLength");
  info.width = integer("imWidth");
  info.height = integer("imHeight");
  info.im_ext = get("imExt").first;
  return info;
}

std::vector<MotGtRow> ReadMotGroundTruth(const std::string& gt_path) {
  std::ifstream in(gt_path);
  if (!in) {
    throw DataError("cannot open '" + gt_path +
                    "': file missing or unreadable (expected MOT ground truth, lines "
                    "frame,id,bb_left,bb_top,bb_width,bb_height,conf,class,visibility)");
  }
  std::vector<MotGtRow> rows;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (Trim(line).empty()) continue;
    const std::string at = "'" + gt_path + "' line " + std::to_string(number);
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      fields.push_back(Trim(line.substr(start, comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (static_cast<int>(fields.size()) != kGtFieldCount) {
      throw DataError(at + " has " + std::to_string(fields.size()) +
                      " fields, expected 9: "
                      "frame,id,bb_left,bb_top,bb_width,bb_height,conf,class,visibility");
    }
    double v[kGtFieldCount];
    for (int f = 0; f < kGtFieldCount; ++f) {
      if (!ParseDouble(fields[f], &v[f])) {
        throw DataError(at + " field " + std::to_string(f + 1) + " (" + kGtFields[f] + "): '" +
                        fields[f] + "' is not a number");
      }
    }
    auto integer = [&](int f) {
      int64_t n = 0;
      if (!ParseInteger(fields[f], &n)) {
        throw DataError(at + " field " + std::to_string(f + 1) + " (" + kGtFields[f] + "): '" +
                        fields[f] + "' is not an integer");
      }
      return n;
    };
    MotGtRow r;
    r.line = number;
    r.frame = integer(0);
    r.id = integer(1);
    r.left = v[2];
    r.top = v[3];
    r.width = v[4];
    r.height = v[5];
    r.conf = v[6];
    r.cls = integer(7);
    r.visibility = v[8];
    if (r.frame < 1) {
      throw DataError(at + " field 1 (frame): " + fields[0] + " is below 1 (frames count from 1)");
    }
    if (r.width <= 0 || r.height <= 0) {
      const int f = r.width <= 0 ? 4 : 5;
      throw DataError(at + " field " + std::to_string(f + 1) + " (" + kGtFields[f] +
                      "): " + fields[f] + " is not above 0");
    }
    if (r.visibility < 0 || r.visibility > 1) {
      throw DataError(at + " field 9 (visibility): " + fields[8] + " is outside 0..1");
    }
    rows.push_back(r);
  }
  return rows;
}

std::string MotFramePath(const std::string& seq_dir, const MotSeqInfo& info, int64_t frame) {
  char name[32];
  std::snprintf(name, sizeof(name), "%06lld", static_cast<long long>(frame));
  return JoinPath(JoinPath(seq_dir, info.im_dir), name + info.im_ext);
}

MotSequence LoadMotSequence(const std::string& seq_dir, const MotOptions& options) {
  if (options.size < 1) {
    throw DataError("MOT canvas size " + std::to_string(options.size) +
                    " is not allowed (expected >= 1)");
  }
  MotSequence out;
  out.info = ReadMotSeqInfo(seq_dir);
  const MotSeqInfo& info = out.info;
  const std::string gt_path = JoinPath(JoinPath(seq_dir, "gt"), "gt.txt");
  const std::vector<MotGtRow> rows = ReadMotGroundTruth(gt_path);
  const int64_t frames =
      options.max_frames >= 0 ? std::min(options.max_frames, info.length) : info.length;
  const int64_t size = options.size;
  out.scale_x = static_cast<double>(size) / static_cast<double>(info.width);
  out.scale_y = static_cast<double>(size) / static_cast<double>(info.height);
  Sequence& seq = out.sequence;
  seq.size = size;
  seq.frames.resize(static_cast<size_t>(frames));

  // Ground truth: validate every row against seqinfo, keep those asked for.
  std::map<std::pair<int64_t, int64_t>, int64_t> seen;  // (frame, gt id) -> line
  std::map<int64_t, int64_t> identity;                  // gt id -> sequence id
  for (const MotGtRow& r : rows) {
    const std::string at = "'" + gt_path + "' line " + std::to_string(r.line);
    if (r.frame > info.length) {
      throw DataError(at + " field 1 (frame): " + std::to_string(r.frame) +
                      " is beyond seqLength " + std::to_string(info.length) + " of '" +
                      JoinPath(seq_dir, "seqinfo.ini") + "'");
    }
    const auto key = std::make_pair(r.frame, r.id);
    const auto dup = seen.find(key);
    if (dup != seen.end()) {
      throw DataError(at + " field 2 (id): id " + std::to_string(r.id) +
                      " appears twice in frame " + std::to_string(r.frame) + " (also line " +
                      std::to_string(dup->second) + ")");
    }
    seen[key] = r.line;
    if (r.frame > frames) continue;
    if (options.considered_only && r.conf == 0) continue;
    if (!options.classes.empty() &&
        std::find(options.classes.begin(), options.classes.end(), r.cls) == options.classes.end()) {
      continue;
    }
    if (r.visibility < options.min_visibility) continue;
    Box box;
    box.x0 = ClampToCanvas(r.left * out.scale_x, size);
    box.y0 = ClampToCanvas(r.top * out.scale_y, size);
    box.x1 = ClampToCanvas((r.left + r.width) * out.scale_x, size);
    box.y1 = ClampToCanvas((r.top + r.height) * out.scale_y, size);
    if (box.x1 <= box.x0 || box.y1 <= box.y0) continue;  // nothing left on the canvas
    auto id = identity.find(r.id);
    if (id == identity.end()) {
      id = identity.emplace(r.id, static_cast<int64_t>(out.track_ids.size())).first;
      out.track_ids.push_back(r.id);
    }
    FrameObject o;
    o.id = id->second;
    o.label = r.cls;
    o.box = box;
    o.visible = r.visibility;
    seq.frames[static_cast<size_t>(r.frame - 1)].objects.push_back(o);
  }
  seq.identities = static_cast<int64_t>(out.track_ids.size());
  for (Frame& f : seq.frames) {
    std::sort(f.objects.begin(), f.objects.end(),
              [](const FrameObject& a, const FrameObject& b) { return a.id < b.id; });
  }

  // Frames.
  for (int64_t f = 1; f <= frames; ++f) {
    const std::string path = MotFramePath(seq_dir, info, f);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw DataError("missing frame " + std::to_string(f) + " '" + path + "' (seqLength " +
                      std::to_string(info.length) + " in '" + JoinPath(seq_dir, "seqinfo.ini") +
                      "')");
    }
    const cv::Mat decoded = cv::imread(path, cv::IMREAD_GRAYSCALE);
    if (decoded.empty()) throw DataError("OpenCV cannot decode frame '" + path + "'");
    if (decoded.cols != info.width || decoded.rows != info.height) {
      throw DataError("frame '" + path + "' is " + std::to_string(decoded.cols) + "x" +
                      std::to_string(decoded.rows) + ", but '" + JoinPath(seq_dir, "seqinfo.ini") +
                      "' says imWidth x imHeight = " + std::to_string(info.width) + "x" +
                      std::to_string(info.height));
    }
    cv::Mat canvas = decoded;
    if (decoded.cols != size || decoded.rows != size) {
      cv::resize(decoded, canvas, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0,
                 cv::INTER_AREA);
    }
    std::vector<uint8_t>& pixels = seq.frames[static_cast<size_t>(f - 1)].pixels;
    pixels.reserve(static_cast<size_t>(size * size));
    for (int y = 0; y < canvas.rows; ++y) {
      const uint8_t* row = canvas.ptr<uint8_t>(y);
      pixels.insert(pixels.end(), row, row + canvas.cols);
    }
  }
  return out;
}

std::vector<std::string> MotSequenceDirs(const std::string& root, const std::string& split) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(root) / split;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw DataError("MOT folder '" + dir.string() + "' " +
                    (fs::exists(dir, ec) ? "is not a directory" : "does not exist") +
                    " (allowed: ROOT/SPLIT holding sequence folders with seqinfo.ini, as MOT17/train)");
  }
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && fs::is_regular_file(e.path() / "seqinfo.ini", ec)) {
      out.push_back(e.path().string());
    }
  }
  if (ec) throw DataError("MOT folder '" + dir.string() + "' cannot be listed: " + ec.message());
  std::sort(out.begin(), out.end());
  if (out.empty()) {
    throw DataError("MOT folder '" + dir.string() +
                    "' holds no sequence folder with a seqinfo.ini (allowed: ROOT/SPLIT holding "
                    "sequence folders, as MOT17/train/MOT17-02-FRCNN)");
  }
  return out;
}

}  // namespace effrobust
