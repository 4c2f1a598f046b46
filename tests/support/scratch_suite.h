// ScratchSuite<Suite>: base of a GoogleTest suite whose tests share slow
// files made once (models trained or scripted, data written) in a scratch
// directory. Suite::SetUpTestSuite returns early when a prerequisite is
// missing (every test then skips with skip_reason_), else calls
// MakeScratch() and sets made_; when making failed, every test fails with
// the logs named in make_logs_. The directory is removed after the suite.
// Header-only test support.
#ifndef EFFROBUST_TESTS_SUPPORT_SCRATCH_SUITE_H_
#define EFFROBUST_TESTS_SUPPORT_SCRATCH_SUITE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace effrobust {
namespace test {

template <class Suite>
class ScratchSuite : public ::testing::Test {
 protected:
  // Makes "/tmp/effrobust-`tag`-XXXXXX" as *dir_.
  static void MakeScratch(const std::string& tag) {
    std::string tmpl = "/tmp/effrobust-" + tag + "-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl.data()));
  }
  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << skip_reason_;
    std::string logs;
    for (const auto& log : make_logs_) logs += Slurp(*dir_ + "/" + log);
    ASSERT_TRUE(made_) << logs;
  }

  static inline std::string* dir_ = nullptr;  // null: prerequisites missing
  static inline bool made_ = false;
  static inline std::string skip_reason_ = "no python3-torch or Fashion-MNIST not installed";
  static inline std::vector<std::string> make_logs_ = {"make.log"};  // relative to *dir_
};

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_SCRATCH_SUITE_H_
