// A tiny captions-json dataset for the tests of the D2 executor and the
// scripted captioners: six 40x48 colour PNGs written with OpenCV, each with a
// bright block at a position that depends on its index, and a Karpathy-style
// JSON listing them. Header-only test support; links OpenCV imgcodecs.
#ifndef EFFROBUST_TESTS_SUPPORT_TINY_CAPTION_JSON_H_
#define EFFROBUST_TESTS_SUPPORT_TINY_CAPTION_JSON_H_

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

namespace effrobust {
namespace test {

// Writes `dir`/images/img<i>.png (i < 6) and `dir`/captions.json with
// entries 0, 2, 4 in split "train" and 1, 3, 5 in "test" (so test sample k
// is img<2k+1>), each with the sentences "a shirt" and "there is a bag".
// Returns false if an image cannot be written.
inline bool WriteTinyCaptionJson(const std::string& dir) {
  std::filesystem::create_directories(dir + "/images");
  std::string json = R"({"dataset": "tiny", "images": [)";
  for (int i = 0; i < 6; ++i) {
    cv::Mat m(40, 48, CV_8UC3, cv::Scalar(20, 30 + 10 * i, 40));
    m(cv::Rect(4 + 6 * i, 8, 10, 12)).setTo(cv::Scalar(250, 200, 90));
    if (!cv::imwrite(dir + "/images/img" + std::to_string(i) + ".png", m)) return false;
    json += std::string(i ? ", " : "") + R"({"filename": "img)" + std::to_string(i) +
            R"(.png", "split": ")" + (i % 2 ? "test" : "train") +
            R"(", "sentences": [{"tokens": ["a", "shirt"]}, )" +
            R"({"tokens": ["there", "is", "a", "bag"]}]})";
  }
  std::ofstream(dir + "/captions.json") << json << "]}";
  return true;
}

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_TINY_CAPTION_JSON_H_
