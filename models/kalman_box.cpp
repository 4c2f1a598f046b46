#include "models/kalman_box.h"

#include <algorithm>

namespace effrobust {

namespace {

constexpr double kPosition = 1.0 / 20;   // ByteTrack's _std_weight_position
constexpr double kVelocity = 1.0 / 160;  // ByteTrack's _std_weight_velocity

dlib::matrix<double, 8, 8> Motion() {
  dlib::matrix<double, 8, 8> f = dlib::identity_matrix<double>(8);
  for (int i = 0; i < 4; ++i) f(i, 4 + i) = 1.0;
  return f;
}

dlib::matrix<double, 4, 8> Observe() {
  dlib::matrix<double, 4, 8> h;
  h = 0;
  for (int i = 0; i < 4; ++i) h(i, i) = 1.0;
  return h;
}

}  // namespace

KalmanBox::KalmanBox(const Measurement& m) {
  mean_ = 0;
  for (int i = 0; i < 4; ++i) mean_(i) = m(i);
  const double h = m(3);
  const double std[8] = {2 * kPosition * h,  2 * kPosition * h,  1e-2, 2 * kPosition * h,
                         10 * kVelocity * h, 10 * kVelocity * h, 1e-5, 10 * kVelocity * h};
  cov_ = 0;
  for (int i = 0; i < 8; ++i) cov_(i, i) = std[i] * std[i];
}

void KalmanBox::Predict(bool hold_height) {
  if (hold_height) mean_(7) = 0;
  const double h = mean_(3);
  const double std[8] = {kPosition * h, kPosition * h, 1e-2, kPosition * h,
                         kVelocity * h, kVelocity * h, 1e-5, kVelocity * h};
  dlib::matrix<double, 8, 8> q;
  q = 0;
  for (int i = 0; i < 8; ++i) q(i, i) = std[i] * std[i];
  static const dlib::matrix<double, 8, 8> f = Motion();
  mean_ = f * mean_;
  cov_ = f * cov_ * dlib::trans(f) + q;
}

void KalmanBox::Update(const Measurement& m) {
  static const dlib::matrix<double, 4, 8> obs = Observe();
  const double h = mean_(3);
  const double std[4] = {kPosition * h, kPosition * h, 1e-1, kPosition * h};
  dlib::matrix<double, 4, 4> r;
  r = 0;
  for (int i = 0; i < 4; ++i) r(i, i) = std[i] * std[i];
  const dlib::matrix<double, 4, 4> s = obs * cov_ * dlib::trans(obs) + r;
  const dlib::matrix<double, 8, 4> gain = cov_ * dlib::trans(obs) * dlib::inv(s);
  mean_ = mean_ + gain * (m - obs * mean_);
  cov_ = cov_ - gain * s * dlib::trans(gain);
}

void KalmanBox::Box(double* x0, double* y0, double* x1, double* y1) const {
  const double h = std::max(0.0, mean_(3));
  const double w = std::max(0.0, mean_(2) * h);
  *x0 = mean_(0) - w / 2;
  *x1 = mean_(0) + w / 2;
  *y0 = mean_(1) - h / 2;
  *y1 = mean_(1) + h / 2;
}

KalmanBox::Measurement KalmanBox::FromBox(double x0, double y0, double x1, double y1) {
  Measurement m;
  const double h = std::max(1e-6, y1 - y0);
  m = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / h, h;
  return m;
}

}  // namespace effrobust
