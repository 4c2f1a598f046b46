// WriteTinyModel: saves an untrained 3-exit CNN checkpoint plus its ".json"
// metadata, in the format `effrobust train` writes, in milliseconds and
// without reading any data. For tests about input handling and the run
// machinery, never about accuracy. The header is torch-free.
#ifndef EFFROBUST_TESTS_SUPPORT_TINY_MODEL_H_
#define EFFROBUST_TESTS_SUPPORT_TINY_MODEL_H_

#include <cstdint>
#include <string>

namespace effrobust {

// Writes `path` and `path`.json (overwriting both). Parameters come from
// torch's generator seeded with `seed`. Throws ModelError on I/O failure.
void WriteTinyModel(const std::string& path, int64_t seed = 1);

}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_TINY_MODEL_H_
