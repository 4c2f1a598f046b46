// An input-validation detector as the paper evaluates (issue 7 §3): an SVM
// with an RBF kernel and probability outputs, trained on feature vectors
// of clean (negative) and adversarial (positive) inputs, scoring new inputs
// with P(adversarial). libsvm (Debian's libsvm-dev) does the work: C-SVC,
// RBF kernel, Platt-scaled probabilities from its internal 5-fold cross
// validation. libsvm draws those folds with rand(), so Train seeds rand()
// from `options.seed` and holds a process-wide lock while it trains: the
// same data and seed give the same model. libsvm's training chatter goes
// nowhere. Torch-free.
// Thread-safety: Train is serialised internally; Score is const and safe to
// call from several threads on one detector.
#ifndef EFFROBUST_DEFENSES_SVM_DETECTOR_H_
#define EFFROBUST_DEFENSES_SVM_DETECTOR_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace effrobust {

struct SvmOptions {
  double c = 1.0;         // Default: 1 (scikit-learn's SVC default, the paper's detector)
  double gamma = 0;       // Default: 0 = 1 / (features x variance of all values), sklearn's "scale"
  double cache_mb = 100;  // Default: 100 (kernel cache)
  double tolerance = 1e-3;  // Default: 1e-3 (stopping tolerance)
  uint64_t seed = 1;        // Default: 1 (seeds the probability folds)
};

class SvmDetector {
 public:
  // Trains on `features` (one row per input, all rows the same length)
  // labelled by `adversarial`. Throws DefenseError naming the problem:
  // fewer than 2 rows per class, rows of different lengths or none, sizes
  // that differ, non-finite values, c <= 0, gamma < 0, cache_mb <= 0 or
  // tolerance <= 0.
  static SvmDetector Train(const std::vector<std::vector<double>>& features,
                           const std::vector<bool>& adversarial, const SvmOptions& options = {});

  // P(adversarial) of each row. Throws DefenseError on a row of another
  // length or a non-finite value.
  std::vector<double> Score(const std::vector<std::vector<double>>& features) const;

  int64_t features() const;         // length of a row
  int64_t support_vectors() const;  // number of support vectors
  double gamma() const;             // the kernel's gamma, after "scale"

  SvmDetector(SvmDetector&&) noexcept;
  SvmDetector& operator=(SvmDetector&&) noexcept;
  ~SvmDetector();

 private:
  struct State;
  explicit SvmDetector(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace effrobust

#endif  // EFFROBUST_DEFENSES_SVM_DETECTOR_H_
