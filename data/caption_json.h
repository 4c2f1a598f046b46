// Image-captioning datasets in the Karpathy split format (dataset_coco.json,
// dataset_flickr8k.json, dataset_flickr30k.json from Karpathy's neuraltalk
// "data splits"): a JSON object
//   {"dataset": "flickr8k",
//    "images": [{"filename": "1000268201_693b08cb0e.jpg",
//                "filepath": "val2014",            (optional; COCO only)
//                "split": "train" | "val" | "test" | "restval",
//                "sentences": [{"tokens": ["a", "child", ...], "raw": "A child ..."}, ...],
//                ...other keys ignored...}, ...]}
// next to a folder of images: entry e's image is IMAGE_ROOT/filepath/filename
// (IMAGE_ROOT/filename without "filepath"). JSON parsing by nlohmann::json;
// images decoded and resized by OpenCV. Torch-free. Thread-safe.
#ifndef EFFROBUST_DATA_CAPTION_JSON_H_
#define EFFROBUST_DATA_CAPTION_JSON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"

namespace effrobust {

// The experiment dataset name of Karpathy-style captions
// (docs/experiment-format.md): `json` is the JSON file, `path` the image
// root; sample i of a split is the i-th entry of that split in JSON order.
inline constexpr char kCaptionJsonDataset[] = "captions-json";

// One element of the JSON's "images" array.
struct CaptionEntry {
  int64_t index = 0;                             // position in the "images" array
  std::string filename;                          // "filename"
  std::string filepath;                          // "filepath" ("" if absent)
  std::string split;                             // "train", "val", "test" or "restval"
  std::vector<std::vector<std::string>> tokens;  // one token list per sentence, in order
  std::vector<std::string> raw;                  // each sentence's "raw" ("" if absent)
};

struct CaptionJson {
  std::string path;     // the file read
  std::string dataset;  // "dataset" ("coco", "flickr8k", ...; "" if absent)
  std::vector<CaptionEntry> entries;
};

// The splits an entry may have: "train", "val", "test", "restval" (COCO's
// images outside the 5000/5000 val/test sets; usually trained on).
const std::vector<std::string>& KarpathySplits();

// Parses a Karpathy-style JSON file; looks at no image. Throws DataError
// naming the file if it is missing or not valid JSON (with the parser's
// position), and naming the file, the entry index and its filename for an
// entry without a string "filename", with a split outside KarpathySplits(),
// without sentences, or with a sentence whose "tokens" is missing, empty or
// not a list of strings.
CaptionJson ReadCaptionJson(const std::string& json_path);

// IMAGE_ROOT/filepath/filename, or IMAGE_ROOT/filename if filepath is "".
std::string CaptionImagePath(const std::string& image_root, const CaptionEntry& entry);

struct CaptionImageOptions {
  int64_t size = 64;        // Default: 64 (every image resized to size x size, OpenCV INTER_AREA;
                            // aspect not kept; an image already size x size is not resampled)
  bool colour = false;      // Default: false (1 grey channel); true: 3 channels, R G B planes
  int64_t max_images = -1;  // Default: -1 (all the entries of the splits; else the first N)
};

// Images of the chosen splits with their captions, in JSON order.
struct CaptionSet {
  // N x C x size x size, C = 1 (grey) or 3 (RGB); labels empty, num_classes 0.
  ImageSet images;
  std::vector<std::vector<std::vector<std::string>>> tokens;  // [image][sentence] -> tokens
  std::vector<int64_t> entries;  // each image's index in CaptionJson::entries
};

// Decodes the images of the entries whose split is one of `splits` (e.g.
// {"train", "restval"} for Karpathy's COCO train set). Throws DataError for a
// split outside KarpathySplits(), options.size < 1, and, naming the JSON
// file, the entry index, its filename and the image path, for an image file
// that is missing or that OpenCV cannot decode.
CaptionSet LoadCaptionedImages(const CaptionJson& json, const std::string& image_root,
                               const std::vector<std::string>& splits,
                               const CaptionImageOptions& options = CaptionImageOptions());

}  // namespace effrobust

#endif  // EFFROBUST_DATA_CAPTION_JSON_H_
