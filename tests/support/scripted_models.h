// Runs the model scripts of tests/support (make_torchscript_*.py) with
// Debian's /usr/bin/python3 (python3-torch), as the tests that need scripted
// victims do. Header-only test support; needs EFFROBUST_SOURCE_ROOT defined.
#ifndef EFFROBUST_TESTS_SUPPORT_SCRIPTED_MODELS_H_
#define EFFROBUST_TESTS_SUPPORT_SCRIPTED_MODELS_H_

#include <cstdlib>
#include <string>

namespace effrobust {
namespace test {

// True if /usr/bin/python3 can import torch.
inline bool HavePythonTorch() {
  return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

// Runs tests/support/`script` OUT_DIR DATA_DIR with stdout and stderr into
// `log` (an empty `data_dir`: the script's random fallback data). Returns
// whether it exited 0.
inline bool RunModelScript(const std::string& script, const std::string& out_dir,
                           const std::string& data_dir, const std::string& log) {
  const std::string cmd = "/usr/bin/python3 " + std::string(EFFROBUST_SOURCE_ROOT) +
                          "/tests/support/" + script + " " + out_dir + " " + data_dir + " > " +
                          log + " 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_SCRIPTED_MODELS_H_
