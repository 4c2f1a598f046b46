// The defense catalog: names, parameters, defaults and allowed values of the
// defenses an experiment may list under `defenses:`, without torch or
// OpenCV, so the orchestrator can validate specs and the transforms
// (defenses/transforms.h) check their parameters against one table.
// Besides "none" (the default) it holds the input transforms (applied to
// images before the model, evaluated on a unit's clean and adversarial
// inputs, or attacked through with BPDA when `adaptive`) and the runtime
// caps (a systems defense: a limit on the work one input may cause, applied
// by the executor of the family it names). Pure data, thread-safe.
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

enum class DefenseKind {
  kNone,       // "none"
  kTransform,  // an input transformation (defenses/transforms.h)
  kRuntimeCap,  // a limit on exits, decoding steps or candidates
  kDetector     // an input-validation detector (defenses/input_detector.h)
};

struct DefenseInfo {
  std::string name;
  std::string description;
  std::vector<DefenseParam> params;
  DefenseKind kind = DefenseKind::kTransform;
  // Model families (models/families.h) the defense applies to; empty: every
  // family whose input is an image (all but "translation").
  std::vector<std::string> families;
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

// True if `defense` applies to models of `family` (see DefenseInfo::families).
// Throws DefenseError for an unknown defense.
bool DefenseAppliesTo(const std::string& defense, const std::string& family);

// The families `defense` applies to, for messages ("early_exit" or "every
// image family").
std::string DefenseFamiliesText(const std::string& defense);

// CompleteDefenseParams without the result (the spec parser's check).
void CheckDefenseParams(const std::string& defense,
                        const std::vector<std::pair<std::string, std::string>>& given);

// Checks one already-parsed value (used by the transforms' constructors):
// throws DefenseError as CompleteDefenseParams does if `value` is not
// allowed for `param` of `defense`, or if either is unknown.
void CheckDefenseValue(const std::string& defense, const std::string& param, double value);

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_CATALOG_H_
