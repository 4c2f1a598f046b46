#include "data/cifar10.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/error.h"

namespace effrobust {

namespace {

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  if (dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

constexpr int64_t kPixelBytes = kCifar10RecordBytes - 1;

}  // namespace

std::vector<std::string> Cifar10Files(const std::string& dir, const std::string& split) {
  if (split == "train") {
    std::vector<std::string> files;
    for (int i = 1; i <= 5; ++i) {
      files.push_back(JoinPath(dir, "data_batch_" + std::to_string(i) + ".bin"));
    }
    return files;
  }
  if (split == "test") return {JoinPath(dir, "test_batch.bin")};
  throw DataError("unknown CIFAR-10 split '" + split + "' (allowed: \"train\", \"test\")");
}

void AppendCifar10Batch(const std::string& path, int64_t max_records, ImageSet* set) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    throw DataError("cannot open CIFAR-10 batch '" + path + "': " + ec.message() +
                    " (expected a binary batch of 3073-byte records, as in cifar-10-batches-bin)");
  }
  if (size % kCifar10RecordBytes != 0) {
    throw DataError("CIFAR-10 batch '" + path + "' has " + std::to_string(size) +
                    " bytes, not a multiple of the 3073-byte record (1 label + 3072 pixels); " +
                    "truncated or not a binary batch");
  }
  if (set->count == 0) {
    set->channels = 3;
    set->height = kCifar10Side;
    set->width = kCifar10Side;
    set->num_classes = kCifar10Classes;
  } else if (set->channels != 3 || set->height != kCifar10Side || set->width != kCifar10Side) {
    throw DataError("cannot append CIFAR-10 batch '" + path + "' to a set that is not 3x32x32");
  }
  int64_t records = static_cast<int64_t>(size / kCifar10RecordBytes);
  if (max_records >= 0 && max_records < records) records = max_records;

  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open CIFAR-10 batch '" + path + "' for reading");
  std::vector<uint8_t> record(kCifar10RecordBytes);
  set->pixels.reserve(static_cast<size_t>((set->count + records) * kPixelBytes));
  set->labels.reserve(static_cast<size_t>(set->count + records));
  for (int64_t r = 0; r < records; ++r) {
    if (!in.read(reinterpret_cast<char*>(record.data()), kCifar10RecordBytes)) {
      throw DataError("cannot read record " + std::to_string(r) + " of CIFAR-10 batch '" + path +
                      "'");
    }
    if (record[0] >= kCifar10Classes) {
      throw DataError("label " + std::to_string(record[0]) + " of record " + std::to_string(r) +
                      " (byte offset " + std::to_string(r * kCifar10RecordBytes) +
                      ") in CIFAR-10 batch '" + path + "' is out of range (expected 0..9)");
    }
    set->labels.push_back(record[0]);
    // The record's pixels are already planar (R, G, B planes, 32x32 each):
    // exactly ImageSet's C x H x W layout.
    set->pixels.insert(set->pixels.end(), record.begin() + 1, record.end());
    ++set->count;
  }
}

ImageSet LoadCifar10(const std::string& dir, const std::string& split, int64_t max_images) {
  const std::vector<std::string> files = Cifar10Files(dir, split);
  ImageSet set;
  set.channels = 3;
  set.height = kCifar10Side;
  set.width = kCifar10Side;
  set.num_classes = kCifar10Classes;
  for (const std::string& file : files) {
    if (max_images >= 0 && set.count >= max_images) break;
    AppendCifar10Batch(file, max_images < 0 ? -1 : max_images - set.count, &set);
  }
  return set;
}

std::vector<std::string> Cifar10ClassNames(const std::string& dir) {
  const std::string path = JoinPath(dir, "batches.meta.txt");
  std::ifstream in(path);
  if (!in) {
    throw DataError("cannot open '" + path +
                    "': file missing or unreadable (expected the 10 CIFAR-10 class names, one per "
                    "line)");
  }
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (!line.empty()) names.push_back(line);
  }
  if (static_cast<int64_t>(names.size()) != kCifar10Classes) {
    throw DataError("'" + path + "' holds " + std::to_string(names.size()) +
                    " class names, expected 10 (one per line)");
  }
  return names;
}

}  // namespace effrobust
