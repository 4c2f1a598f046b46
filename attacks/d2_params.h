// Options of the D2 attacks (autoregressive decoders) from their completed
// catalog parameters (attacks/catalog.h), as MakeAttack does for the D1
// attacks: the D2 attacks take a decoder, not a VictimModel, so the D2
// executor calls them directly. Thread-safe (pure functions).
#ifndef EFFROBUST_ATTACKS_D2_PARAMS_H_
#define EFFROBUST_ATTACKS_D2_PARAMS_H_

#include "attacks/nicg_slowdown.h"
#include "attacks/nmtsloth.h"
#include "common/value.h"

namespace effrobust {

// "nicgslowdown" parameters norm, budget, c, lr, iterations, max_len.
// Throws AttackError naming a missing or mistyped parameter.
NicgSlowDownOptions NicgSlowDownOptionsFromParams(const ParamMap& params);

// "nmtsloth" parameters edits, candidates, max_len. Throws AttackError
// naming a missing or mistyped parameter.
NmtSlothOptions NmtSlothOptionsFromParams(const ParamMap& params);

}  // namespace effrobust

#endif  // EFFROBUST_ATTACKS_D2_PARAMS_H_
