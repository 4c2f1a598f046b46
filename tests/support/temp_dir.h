// TempDir: a fresh directory under the system temp dir for one test, removed
// (with its contents) when the object goes out of scope. Header-only test
// support; not thread-safe to share between threads that delete it.
#ifndef EFFROBUST_TESTS_SUPPORT_TEMP_DIR_H_
#define EFFROBUST_TESTS_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace effrobust {

class TempDir {
 public:
  // Creates "<tmp>/effrobust_<tag>_XXXXXX". Throws std::runtime_error on failure.
  explicit TempDir(const std::string& tag = "test") {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / ("effrobust_" + tag + "_XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Path of `name` inside the directory.
  std::string File(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_TEMP_DIR_H_
