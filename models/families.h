// Which family of dynamic computation each model arch belongs to, without
// torch, so the orchestrator can check experiments before any model loads.
// models/victim_loader.cpp loads exactly these archs (a test keeps the two
// in step). Header-only, thread-safe.
#ifndef EFFROBUST_MODELS_FAMILIES_H_
#define EFFROBUST_MODELS_FAMILIES_H_

#include <string>
#include <utility>
#include <vector>

namespace effrobust {

// (arch, family) for every arch effrobust trains and loads.
inline const std::vector<std::pair<std::string, std::string>>& ArchFamilies() {
  static const std::vector<std::pair<std::string, std::string>> archs = {
      {"multi_exit_cnn", "early_exit"},
      {"skip_net", "skip_gate"},
      {"adaptive_vit", "adaptive_token"},
  };
  return archs;
}

// The family of `arch`, or "" if effrobust does not know it.
inline std::string FamilyOfArchName(const std::string& arch) {
  for (const auto& [a, family] : ArchFamilies()) {
    if (a == arch) return family;
  }
  return "";
}

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_FAMILIES_H_
