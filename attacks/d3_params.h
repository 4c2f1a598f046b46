// Options of the D3 attacks (detector + tracker) from their completed
// catalog parameters (attacks/catalog.h), as d2_params.h does for the
// decoders: the D3 attacks take a Detector, so the D3 executor calls them
// directly. Thread-safe (pure functions).
#ifndef EFFROBUST_ATTACKS_D3_PARAMS_H_
#define EFFROBUST_ATTACKS_D3_PARAMS_H_

#include <cstdint>

#include "attacks/overload.h"
#include "attacks/phantom_sponge.h"
#include "attacks/slowtrack.h"
#include "common/value.h"

namespace effrobust {

// "overload" parameters eps, iterations, grid, threshold.
OverloadOptions OverloadOptionsFromParams(const ParamMap& params);

// A "phantom_sponge" unit: the attack's options, whether it fits one
// universal perturbation, and on how many train sequences' frames.
struct PhantomSpongeSetting {
  PhantomSpongeOptions options;
  bool universal = false;
  int64_t fit_sequences = 0;
};

// "phantom_sponge" parameters mode, threshold, lambda1, lambda2, eps, step,
// iterations, epochs, batch, fit_sequences.
PhantomSpongeSetting PhantomSpongeSettingFromParams(const ParamMap& params);

// "slowtrack" parameters iterations, step, slices, selected_weight.
SlowTrackOptions SlowTrackOptionsFromParams(const ParamMap& params);

// Each throws AttackError naming a missing or mistyped parameter.

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_D3_PARAMS_H_
