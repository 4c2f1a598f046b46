#include "common/host_allocator.h"

#include <malloc.h>

namespace effrobust {

bool TuneHostAllocator() {
  // 32 MiB is glibc's largest mmap threshold on 64-bit systems.
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  return mmap_ok && trim_ok;
}

}  // namespace effrobust
