#include "data/caption_json.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"

namespace effrobust {

namespace {

using nlohmann::json;

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  if (dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

std::string AllowedSplits() {
  std::string s;
  for (const std::string& split : KarpathySplits()) {
    if (!s.empty()) s += ", ";
    s += "\"" + split + "\"";
  }
  return s;
}

bool IsKarpathySplit(const std::string& split) {
  const std::vector<std::string>& all = KarpathySplits();
  return std::find(all.begin(), all.end(), split) != all.end();
}

// "'PATH' images[I] ('FILENAME')": where a problem is.
std::string Where(const std::string& path, size_t index, const std::string& filename) {
  std::string w = "'" + path + "' images[" + std::to_string(index) + "]";
  if (!filename.empty()) w += " ('" + filename + "')";
  return w;
}

CaptionEntry ParseEntry(const std::string& path, size_t index, const json& j) {
  if (!j.is_object()) {
    throw DataError(Where(path, index, "") + " is not a JSON object");
  }
  CaptionEntry e;
  e.index = static_cast<int64_t>(index);
  const auto filename = j.find("filename");
  if (filename == j.end() || !filename->is_string() || filename->get<std::string>().empty()) {
    throw DataError(Where(path, index, "") + " has no non-empty string \"filename\"");
  }
  e.filename = filename->get<std::string>();
  const auto filepath = j.find("filepath");
  if (filepath != j.end()) {
    if (!filepath->is_string()) {
      throw DataError(Where(path, index, e.filename) + ": \"filepath\" is not a string");
    }
    e.filepath = filepath->get<std::string>();
  }
  const auto split = j.find("split");
  if (split == j.end() || !split->is_string()) {
    throw DataError(Where(path, index, e.filename) +
                    " has no string \"split\" (allowed: " + AllowedSplits() + ")");
  }
  e.split = split->get<std::string>();
  if (!IsKarpathySplit(e.split)) {
    throw DataError(Where(path, index, e.filename) + " has split '" + e.split +
                    "' (allowed: " + AllowedSplits() + ")");
  }
  const auto sentences = j.find("sentences");
  if (sentences == j.end() || !sentences->is_array() || sentences->empty()) {
    throw DataError(Where(path, index, e.filename) +
                    " has no sentences (expected \"sentences\": a non-empty list of "
                    "{\"tokens\": [...]})");
  }
  for (size_t s = 0; s < sentences->size(); ++s) {
    const json& sentence = (*sentences)[s];
    const std::string at = Where(path, index, e.filename) + " sentence " + std::to_string(s);
    if (!sentence.is_object()) throw DataError(at + " is not a JSON object");
    const auto tokens = sentence.find("tokens");
    if (tokens == sentence.end() || !tokens->is_array() || tokens->empty()) {
      throw DataError(at + " has no tokens (expected \"tokens\": a non-empty list of strings)");
    }
    std::vector<std::string> words;
    for (const json& t : *tokens) {
      if (!t.is_string()) throw DataError(at + " has a token that is not a string: " + t.dump());
      words.push_back(t.get<std::string>());
    }
    e.tokens.push_back(std::move(words));
    const auto raw = sentence.find("raw");
    e.raw.push_back(raw != sentence.end() && raw->is_string() ? raw->get<std::string>() : "");
  }
  return e;
}

// Decodes one image to size x size, C x H x W, appended to `pixels`.
void AppendImage(const cv::Mat& decoded, const CaptionImageOptions& options,
                 std::vector<uint8_t>* pixels) {
  cv::Mat image = decoded;
  if (image.cols != options.size || image.rows != options.size) {
    cv::resize(decoded, image,
               cv::Size(static_cast<int>(options.size), static_cast<int>(options.size)), 0, 0,
               cv::INTER_AREA);
  }
  if (!options.colour) {
    for (int y = 0; y < image.rows; ++y) {
      const uint8_t* row = image.ptr<uint8_t>(y);
      pixels->insert(pixels->end(), row, row + image.cols);
    }
    return;
  }
  // OpenCV decodes to interleaved B, G, R; ImageSet wants R, G, B planes.
  for (int c : {2, 1, 0}) {
    for (int y = 0; y < image.rows; ++y) {
      const cv::Vec3b* row = image.ptr<cv::Vec3b>(y);
      for (int x = 0; x < image.cols; ++x) pixels->push_back(row[x][c]);
    }
  }
}

}  // namespace

const std::vector<std::string>& KarpathySplits() {
  static const std::vector<std::string> kSplits = {"train", "val", "test", "restval"};
  return kSplits;
}

CaptionJson ReadCaptionJson(const std::string& json_path) {
  std::ifstream in(json_path);
  if (!in) {
    throw DataError("cannot open captions JSON '" + json_path +
                    "': file missing or unreadable (expected a Karpathy-style "
                    "dataset_*.json with an \"images\" list)");
  }
  json root;
  try {
    root = json::parse(in);
  } catch (const json::parse_error& e) {
    throw DataError("captions JSON '" + json_path + "' is not valid JSON: " + e.what());
  }
  if (!root.is_object()) {
    throw DataError("captions JSON '" + json_path + "' is not a JSON object");
  }
  const auto images = root.find("images");
  if (images == root.end() || !images->is_array()) {
    throw DataError("captions JSON '" + json_path + "' has no \"images\" list");
  }
  CaptionJson out;
  out.path = json_path;
  const auto dataset = root.find("dataset");
  if (dataset != root.end() && dataset->is_string()) out.dataset = dataset->get<std::string>();
  out.entries.reserve(images->size());
  for (size_t i = 0; i < images->size(); ++i) {
    out.entries.push_back(ParseEntry(json_path, i, (*images)[i]));
  }
  return out;
}

std::string CaptionImagePath(const std::string& image_root, const CaptionEntry& entry) {
  if (entry.filepath.empty()) return JoinPath(image_root, entry.filename);
  return JoinPath(JoinPath(image_root, entry.filepath), entry.filename);
}

CaptionSet LoadCaptionedImages(const CaptionJson& json, const std::string& image_root,
                               const std::vector<std::string>& splits,
                               const CaptionImageOptions& options) {
  for (const std::string& split : splits) {
    if (!IsKarpathySplit(split)) {
      throw DataError("unknown caption split '" + split + "' (allowed: " + AllowedSplits() + ")");
    }
  }
  if (options.size < 1) {
    throw DataError("caption image size " + std::to_string(options.size) +
                    " is not allowed (expected >= 1)");
  }
  CaptionSet out;
  out.images.channels = options.colour ? 3 : 1;
  out.images.height = options.size;
  out.images.width = options.size;
  for (const CaptionEntry& e : json.entries) {
    if (options.max_images >= 0 && out.images.count >= options.max_images) break;
    if (std::find(splits.begin(), splits.end(), e.split) == splits.end()) continue;
    const std::string path = CaptionImagePath(image_root, e);
    const std::string where = Where(json.path, static_cast<size_t>(e.index), e.filename);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw DataError("missing image '" + path + "' for " + where);
    }
    const cv::Mat decoded =
        cv::imread(path, options.colour ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
    if (decoded.empty()) {
      throw DataError("OpenCV cannot decode image '" + path + "' for " + where);
    }
    AppendImage(decoded, options, &out.images.pixels);
    out.tokens.push_back(e.tokens);
    out.entries.push_back(e.index);
    ++out.images.count;
  }
  return out;
}

}  // namespace effrobust
