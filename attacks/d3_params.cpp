#include "attacks/d3_params.h"

#include "attacks/attack_util.h"

namespace effrobust {

using attacks_internal::RequireCount;
using attacks_internal::RequireNumber;
using attacks_internal::RequireString;

OverloadOptions OverloadOptionsFromParams(const ParamMap& params) {
  const std::string name = "overload";
  OverloadOptions o;
  o.eps = RequireNumber(params, name, "eps");
  o.iterations = RequireCount(params, name, "iterations");
  o.grid = RequireCount(params, name, "grid");
  o.threshold = RequireNumber(params, name, "threshold");
  return o;
}

PhantomSpongeSetting PhantomSpongeSettingFromParams(const ParamMap& params) {
  const std::string name = "phantom_sponge";
  PhantomSpongeSetting s;
  s.universal = RequireString(params, name, "mode") == "universal";
  PhantomSpongeOptions& o = s.options;
  o.threshold = RequireNumber(params, name, "threshold");
  o.lambda1 = RequireNumber(params, name, "lambda1");
  o.lambda2 = RequireNumber(params, name, "lambda2");
  o.eps = RequireNumber(params, name, "eps");
  o.step = RequireNumber(params, name, "step");
  o.iterations = RequireCount(params, name, "iterations");
  o.epochs = RequireCount(params, name, "epochs");
  o.batch = RequireCount(params, name, "batch");
  s.fit_sequences = RequireCount(params, name, "fit_sequences");
  return s;
}

SlowTrackOptions SlowTrackOptionsFromParams(const ParamMap& params) {
  const std::string name = "slowtrack";
  SlowTrackOptions o;
  o.iterations = RequireCount(params, name, "iterations");
  o.step = RequireNumber(params, name, "step");
  o.slices = RequireCount(params, name, "slices");
  o.selected_weight = RequireNumber(params, name, "selected_weight");
  return o;
}

}  // namespace effrobust
