// Content hashing for stable ids. FNV-1a over bytes; Hex16 gives the
// 16-hex-digit form used as unit ids. Pure functions, thread-safe.
#ifndef EFFROBUST_COMMON_HASH_H_
#define EFFROBUST_COMMON_HASH_H_

#include <cstdint>
#include <string>

namespace effrobust {

// 64-bit FNV-1a of `data`, continuing from `seed` (default: FNV offset basis).
uint64_t Fnv1a64(const std::string& data,
                 uint64_t seed = 14695981039346656037ull);

// 16 lowercase hex digits of `h`.
std::string Hex16(uint64_t h);

// Mixes several 64-bit values into one well-spread 64-bit value (splitmix64
// finaliser over each input). Used to derive random seeds from
// (experiment seed, unit id, sample id).
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0);

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_HASH_H_
