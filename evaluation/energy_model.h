// The ASIC-style energy model of the sponge-examples paper (Shumailov et
// al., EuroS&P 2021; repository iliaishacked/sponge_examples,
// energy_estimator/analyse.py; ../shared/reference/attacks.md section 5.2).
// Every constant of the model lives here. Pure functions, thread-safe.
//
// Per executed layer, an accelerator that skips zeros ("optimised") spends
//   E = kAccessPj * (nnz_params + nnz_in + nnz_out)
//     + kMacPj * macs * (nnz_params / params) * (nnz_in / in)
// picojoules (45 nm figures); the worst case uses the totals instead of the
// non-zero counts. A value is non-zero when |v| > kNonzeroThreshold (the
// smallest normal fp32). The energy of an inference is the sum over the
// layers it executed, so activation density moves it even when the executed
// path (and so the FLOPs) does not.
#ifndef EFFROBUST_EVALUATION_ENERGY_MODEL_H_
#define EFFROBUST_EVALUATION_ENERGY_MODEL_H_

namespace effrobust {

constexpr double kEnergyAccessPj = 1950.0;   // one memory access (per element read/written)
constexpr double kEnergyMacPj = 3.7;         // one multiply-accumulate
constexpr double kNonzeroThreshold = 1.1754943508222875e-38;  // 2^-126

// Counts of one layer execution for one sample.
struct LayerCounts {
  double macs = 0;           // multiply-accumulates (0 for element-wise layers)
  double params = 0;         // parameters read
  double nonzero_params = 0;
  double in_total = 0;       // input activations read
  double in_nonzero = 0;
  double out_total = 0;      // output activations written
  double out_nonzero = 0;
};

// Energy in pJ with zero skipping (see top of file). Layers without
// parameters or inputs use ratio 1 for the missing factor.
double EnergyOptimisedPj(const LayerCounts& c);

// Energy in pJ with no zero skipping (every element and MAC paid).
double EnergyWorstPj(const LayerCounts& c);

}  // namespace effrobust

#endif  // EFFROBUST_EVALUATION_ENERGY_MODEL_H_
