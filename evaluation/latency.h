// Latency measurement: warm-up calls, then the median of k timed calls.
// The callable must synchronise any device work itself before returning.
#ifndef EFFROBUST_EVALUATION_LATENCY_H_
#define EFFROBUST_EVALUATION_LATENCY_H_

#include <functional>
#include <vector>

namespace effrobust {

// Median of a non-empty vector (mean of the two middle values when even);
// NaN when empty.
double Median(std::vector<double> values);

// Runs `fn` `warmup` times untimed, then `repeats` times timed with a
// monotonic clock; returns the median in milliseconds, or NaN if
// repeats == 0 (latency disabled; fn is not called at all then).
double MedianLatencyMs(const std::function<void()>& fn, int warmup, int repeats);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_LATENCY_H_
