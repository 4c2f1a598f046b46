#include "models/victim.h"

#include "common/error.h"

namespace effrobust {

void VictimModel::SetExitCap(int64_t /*k*/) {
  throw ModelError("the exit cap applies to early-exit models only, not the " + family() +
                   " family");
}

}  // namespace effrobust
