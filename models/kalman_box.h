// Constant-velocity Kalman filter of a box in image space, as ByteTrack (and
// SORT / DeepSORT before it) tracks objects: the state is (cx, cy, a, h,
// vcx, vcy, va, vh) — box centre, aspect ratio w / h, height and their
// velocities per frame; the measurement is (cx, cy, a, h). Process and
// measurement noise scale with the box height (position weight 1/20,
// velocity weight 1/160, ByteTrack's values). Matrices are dlib's
// fixed-size ones. Torch-free. Thread-safety: a value type.
#ifndef EFFROBUST_MODELS_KALMAN_BOX_H_
#define EFFROBUST_MODELS_KALMAN_BOX_H_

#include <dlib/matrix.h>

namespace effrobust {

class KalmanBox {
 public:
  using State = dlib::matrix<double, 8, 1>;
  using Measurement = dlib::matrix<double, 4, 1>;

  // Starts at `m` = (cx, cy, a, h) with zero velocity and a wide covariance.
  explicit KalmanBox(const Measurement& m);

  // One frame ahead. If `hold_height` the height velocity is zeroed first
  // (ByteTrack does this for tracks that are not currently matched).
  void Predict(bool hold_height = false);
  // Corrects the state with an observed (cx, cy, a, h).
  void Update(const Measurement& m);

  const State& mean() const { return mean_; }
  // The box the state describes, as (x0, y0, x1, y1).
  void Box(double* x0, double* y0, double* x1, double* y1) const;

  // (cx, cy, w / h, h) of the box (x0, y0, x1, y1).
  static Measurement FromBox(double x0, double y0, double x1, double y1);

 private:
  State mean_;
  dlib::matrix<double, 8, 8> cov_;
};

}  // namespace effrobust

#endif  // EFFROBUST_MODELS_KALMAN_BOX_H_
