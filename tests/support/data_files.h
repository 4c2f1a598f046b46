// Helpers for the data readers' tests: write a fixture file byte for byte,
// and catch the DataError a reader throws. Header-only test support.
#ifndef EFFROBUST_TESTS_SUPPORT_DATA_FILES_H_
#define EFFROBUST_TESTS_SUPPORT_DATA_FILES_H_

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.h"

namespace effrobust {
namespace test {

// Writes `bytes` to `path` (binary; text is written as given). Fails the
// current test if the file cannot be written.
inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// The message of the DataError that `f` throws, or "" if it throws none.
template <typename F>
std::string DataErrorOf(F f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_DATA_FILES_H_
