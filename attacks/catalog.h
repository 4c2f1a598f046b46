// The attack catalog: names, parameters, defaults and allowed values of
// every attack, without torch, so the orchestrator can validate experiment
// specs and build canonical unit ids. Pure data, thread-safe.
#ifndef EFFROBUST_ATTACKS_CATALOG_H_
#define EFFROBUST_ATTACKS_CATALOG_H_

#include <string>
#include <vector>

#include "common/value.h"

namespace effrobust {

struct ParamSpec {
  enum class Kind { kReal, kInt, kChoice };
  std::string name;
  Kind kind = Kind::kReal;
  double min = 0;                    // inclusive, for kReal/kInt
  double max = 0;                    // inclusive, for kReal/kInt
  std::vector<std::string> choices;  // for kChoice
  // Norms this parameter applies to (empty: all). Parameters that do not
  // apply to the chosen norm are left out of the completed map.
  std::vector<std::string> norms;
  // Default per norm ({"*"} key = any norm), as text parsed like user input.
  std::vector<std::pair<std::string, std::string>> defaults;
  std::string help;
};

struct AttackInfo {
  std::string name;
  std::string category;  // "baseline", "accuracy", "D1", ...
  std::string description;
  std::vector<ParamSpec> params;
  // Model families (models/families.h) the attack targets; empty: every
  // family. An experiment skips (model, attack) pairs that do not fit.
  std::vector<std::string> families;
};

// True if `attack` targets models of `family` (unknown attack: false).
bool AttackTargetsFamily(const std::string& attack, const std::string& family);

// Every attack effrobust knows.
const std::vector<AttackInfo>& AttackCatalog();

// The entry for `name`; throws AttackError listing known names otherwise.
const AttackInfo& FindAttack(const std::string& name);

// Validates `given` (raw text values from the spec) against the attack's
// parameters and fills defaults. Numbers may be written as decimals or as
// fractions ("8/255"). Throws AttackError with the key, the bad value and
// what is allowed (unknown key; not a number; out of range, which includes
// values that overflow a double; not one of the choices; not an integer).
ParamMap CompleteAttackParams(
    const std::string& attack,
    const std::vector<std::pair<std::string, std::string>>& given);

// Parses "0.0314", "30", "1e-3", "8/255". Returns false if not a finite
// number in decimal or fraction form (hexadecimal, "inf" and "nan" are not
// numbers here; neither is a value that overflows a double).
bool ParseNumberText(const std::string& text, double* out);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_CATALOG_H_
