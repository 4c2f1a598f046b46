#include "attacks/d2_params.h"

#include "attacks/attack_util.h"

namespace effrobust {

NicgSlowDownOptions NicgSlowDownOptionsFromParams(const ParamMap& params) {
  using attacks_internal::RequireCount;
  using attacks_internal::RequireNumber;
  using attacks_internal::RequireString;
  const std::string name = "nicgslowdown";
  NicgSlowDownOptions o;
  o.norm = RequireString(params, name, "norm");
  o.budget = RequireNumber(params, name, "budget");
  o.c = RequireNumber(params, name, "c");
  o.lr = RequireNumber(params, name, "lr");
  o.iterations = RequireCount(params, name, "iterations");
  o.max_len = RequireCount(params, name, "max_len");
  return o;
}

NmtSlothOptions NmtSlothOptionsFromParams(const ParamMap& params) {
  using attacks_internal::RequireCount;
  const std::string name = "nmtsloth";
  NmtSlothOptions o;
  o.edits = RequireCount(params, name, "edits");
  o.candidates = RequireCount(params, name, "candidates");
  o.max_len = RequireCount(params, name, "max_len");
  return o;
}

}  // namespace effrobust
