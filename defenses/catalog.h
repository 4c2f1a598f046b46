// The defense catalog: names and parameters of the defenses an experiment
// may list under `defenses:`, without torch, so the orchestrator can
// validate specs. For now it holds only "none" (no defense, the default);
// input transforms, adversarial training and detectors come later. Pure
// data, thread-safe.
#ifndef EFFROBUST_DEFENSES_CATALOG_H_
#define EFFROBUST_DEFENSES_CATALOG_H_

#include <string>
#include <utility>
#include <vector>

namespace effrobust {

struct DefenseInfo {
  std::string name;
  std::string description;
  std::vector<std::string> params;  // parameter names (none so far)
};

// The defense used when an experiment lists none.
inline constexpr char kDefaultDefense[] = "none";

// Every defense effrobust knows, in the order error messages list them.
const std::vector<DefenseInfo>& DefenseCatalog();

// The entry for `name`; throws DefenseError("unknown defense 'x' (allowed:
// none)") listing every known name otherwise.
const DefenseInfo& FindDefense(const std::string& name);

// Checks `given` (parameter name -> value as written) against the defense's
// parameters. Throws DefenseError naming the defense, the key and the
// allowed keys for a parameter it does not have.
void CheckDefenseParams(const std::string& defense,
                        const std::vector<std::pair<std::string, std::string>>& given);

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_CATALOG_H_
