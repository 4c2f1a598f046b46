// The defense catalog: names, parameters, defaults and allowed values of the
// defenses an experiment may list under `defenses:`, without torch or
// OpenCV, so the orchestrator can validate specs and the transforms
// (defenses/transforms.h) check their parameters against one table.
// Besides "none" (the default) it holds the input transforms; runs do not
// apply them yet and they are not part of any unit's identity (wiring them
// into the executors comes next). Pure data, thread-safe.
#ifndef EFFROBUST_DEFENSES_CATALOG_H_
#define EFFROBUST_DEFENSES_CATALOG_H_

#include <string>
#include <utility>
#include <vector>

#include "common/value.h"

namespace effrobust {

struct DefenseParam {
  std::string name;
  bool whole = false;         // must be a whole number
  bool odd = false;           // must be odd (window sizes); implies whole
  double min = 0;             // inclusive
  double max = 0;             // inclusive
  std::string default_value;  // text, parsed like user input
  std::string help;
};

struct DefenseInfo {
  std::string name;
  std::string description;
  std::vector<DefenseParam> params;
};

// The defense used when an experiment lists none.
inline constexpr char kDefaultDefense[] = "none";

// Every defense effrobust knows, in the order error messages list them.
const std::vector<DefenseInfo>& DefenseCatalog();

// The entry for `name`; throws DefenseError("unknown defense 'x' (allowed:
// none, jpeg, ...)") listing every known name otherwise.
const DefenseInfo& FindDefense(const std::string& name);

// Validates `given` (parameter name -> value as written; decimals or
// fractions as for attacks) and fills the defaults. Throws DefenseError
// naming the defense, the key, the value and what is allowed for an unknown
// key, a value that is not a number, out of range, not whole or not odd.
ParamMap CompleteDefenseParams(const std::string& defense,
                               const std::vector<std::pair<std::string, std::string>>& given);

// CompleteDefenseParams without the result (the spec parser's check).
void CheckDefenseParams(const std::string& defense,
                        const std::vector<std::pair<std::string, std::string>>& given);

// Checks one already-parsed value (used by the transforms' constructors):
// throws DefenseError as CompleteDefenseParams does if `value` is not
// allowed for `param` of `defense`, or if either is unknown.
void CheckDefenseValue(const std::string& defense, const std::string& param, double value);

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_CATALOG_H_
