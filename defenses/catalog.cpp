#include "defenses/catalog.h"

#include <algorithm>

#include "common/error.h"
#include "common/value.h"

namespace effrobust {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

}  // namespace

const std::vector<DefenseInfo>& DefenseCatalog() {
  static const std::vector<DefenseInfo> catalog = {
      {kDefaultDefense, "no defense: the model sees the (attacked) input as is", {}},
  };
  return catalog;
}

const DefenseInfo& FindDefense(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& d : DefenseCatalog()) {
    if (d.name == name) return d;
    names.push_back(d.name);
  }
  throw DefenseError("unknown defense '" + Printable(name) + "' (allowed: " + Join(names) + ")");
}

void CheckDefenseParams(const std::string& defense,
                        const std::vector<std::pair<std::string, std::string>>& given) {
  const DefenseInfo& info = FindDefense(defense);
  for (const auto& [key, value] : given) {
    if (std::find(info.params.begin(), info.params.end(), key) == info.params.end()) {
      throw DefenseError("defense '" + defense + "' has no parameter '" + Printable(key) +
                         "' (allowed: " + (info.params.empty() ? "none" : Join(info.params)) + ")");
    }
  }
}

}  // namespace effrobust
