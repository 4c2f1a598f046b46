// Cell formatting shared by the result tables (D1, D2): numbers to 4
// significant digits, attack parameters as "k=v k=v". Header-only,
// thread-safe.
#ifndef EFFROBUST_EVALUATION_TABLE_CELLS_H_
#define EFFROBUST_EVALUATION_TABLE_CELLS_H_

#include <cmath>
#include <cstdio>
#include <string>
#include <variant>

#include "common/value.h"

namespace effrobust {

// "%.4g" of `v`; "-" when it is not finite (undefined).
inline std::string FormatCell(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

// A unit's params_json as "key=value ..." in key order; "-" when empty.
inline std::string CompactParams(const std::string& json) {
  std::string out;
  for (const auto& [k, v] : ParseFlatJson(json)) {
    std::string text = std::holds_alternative<double>(v) ? FormatCell(std::get<double>(v))
                                                         : std::get<std::string>(v);
    out += (out.empty() ? "" : " ") + k + "=" + text;
  }
  return out.empty() ? "-" : out;
}

// The attack of a unit as the tables name it: `attack`, or for a unit whose
// attack optimised through a defense (its identity `spec_json` has
// "adaptive_defense") "attack (through <defense>, BPDA)", so adaptive units
// form rows of their own instead of pooling with the plain attack's.
inline std::string AttackLabel(const std::string& attack, const std::string& spec_json) {
  const std::string through =
      spec_json.empty() ? "" : TextField(ParseFlatJson(spec_json), "adaptive_defense");
  return through.empty() ? attack : attack + " (through " + through + ", BPDA)";
}

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_TABLE_CELLS_H_
