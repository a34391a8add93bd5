// Scale searches shared by the weight quantizers: candidate scales, least-squares refit, keep
// the candidate with the lowest squared error.
#include <algorithm>
#include <cmath>

#include "tensor/reference_internal.h"

namespace silica::ref {
namespace {

// Candidate scales shrink the range by up to 1 - kShrinkSpan: clipping a few outliers usually
// lowers the total error of the rest.
constexpr int kCandidates = 16;
constexpr float kShrinkSpan = 0.3f;
constexpr int kMaxBlock = 256;  // largest sub-block the fits are called with

inline float shrink(int c) {
  return 1.0f - kShrinkSpan * float(c) / float(kCandidates);
}

inline int clamp_round(float v, int lo, int hi) {
  return std::clamp(nearest_int(v), lo, hi);
}

// Quantizes x with scale d into [qmin, qmax]; returns the error after the optimal refit of d
// (sum x^2 - (sum xq)^2 / sum q^2) and the refit d through *d_out.
float symmetric_error(const float* x, int n, float d, int qmin, int qmax, int8_t* q, float* d_out) {
  const float id = 1.0f / d;
  double sxq = 0, sqq = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    q[i] = int8_t(clamp_round(x[i] * id, qmin, qmax));
    sxq += double(x[i]) * q[i];
    sqq += double(q[i]) * q[i];
    sxx += double(x[i]) * x[i];
  }
  if (sqq == 0) {
    *d_out = 0;
    return float(sxx);
  }
  *d_out = float(sxq / sqq);
  return float(sxx - sxq * sxq / sqq);
}

// Quantizes x with (d, m) into [0, qmax], refits (d, m) by least squares (m clamped to <= 0 when
// asked) and returns the squared error of the refit.
float affine_error(const float* x, int n, float d, float m, int qmax, bool nonpositive_min,
                   uint8_t* q, float* d_out, float* m_out) {
  const float id = 1.0f / d;
  double sq = 0, sqq = 0, sx = 0, sxq = 0;
  for (int i = 0; i < n; ++i) {
    q[i] = uint8_t(clamp_round((x[i] - m) * id, 0, qmax));
    sq += q[i];
    sqq += double(q[i]) * q[i];
    sx += x[i];
    sxq += double(x[i]) * q[i];
  }
  // Normal equations of min sum (x - d q - m)^2: [sqq sq; sq n] [d; m] = [sxq; sx].
  const double det = sqq * n - sq * sq;
  double fd = d, fm = m;
  if (det > 0) {
    fd = (sxq * n - sq * sx) / det;
    fm = (sqq * sx - sq * sxq) / det;
  }
  if (nonpositive_min && fm > 0) {
    fm = 0;
    fd = sqq > 0 ? sxq / sqq : 0;
  }
  fd = std::max(fd, 0.0);
  double err = 0;
  for (int i = 0; i < n; ++i) {
    const double e = x[i] - fd * q[i] - fm;
    err += e * e;
  }
  *d_out = float(fd);
  *m_out = float(fm);
  return float(err);
}

}  // namespace

int nearest_int(float x) {
  return int(std::nearbyint(x));
}

float fit_symmetric(const float* x, int n, int qmin, int qmax, int8_t* q) {
  float amax = 0, max = 0;  // max keeps the sign of the largest-magnitude element
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  std::fill(q, q + n, 0);
  if (amax == 0) return 0;
  int8_t trial[kMaxBlock];
  float best_err = INFINITY, best_d = 0;
  for (int c = 0; c < kCandidates; ++c) {
    // The largest element lands on either end of the range (they differ by one level).
    for (int end : {qmin, qmax}) {
      float d = max / (float(end) * shrink(c)), refit = 0;
      float err = symmetric_error(x, n, d, qmin, qmax, trial, &refit);
      if (refit != 0) {  // one more pass with the refit scale
        float refit2 = 0;
        int8_t trial2[kMaxBlock];
        const float err2 = symmetric_error(x, n, refit, qmin, qmax, trial2, &refit2);
        if (err2 < err) {
          err = err2;
          refit = refit2;
          std::copy(trial2, trial2 + n, trial);
        }
      }
      if (err < best_err) {
        best_err = err;
        best_d = refit;
        std::copy(trial, trial + n, q);
      }
    }
  }
  return best_d;
}

float fit_affine(const float* x, int n, int qmax, bool nonpositive_min, float* m, uint8_t* q) {
  float mn = x[0], mx = x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  if (nonpositive_min) mn = std::min(mn, 0.0f);
  std::fill(q, q + n, 0);
  *m = mn;
  if (mx <= mn) return 0;
  uint8_t trial[kMaxBlock];
  float best_err = INFINITY, best_d = 0, best_m = mn;
  for (int c = 0; c < kCandidates; ++c) {
    // Shrink the range around its middle, so outliers on both sides may clip.
    const float span = (mx - mn) * shrink(c);
    float d = span / float(qmax), off = mn + 0.5f * (mx - mn - span);
    if (nonpositive_min) off = std::min(off, 0.0f);
    for (int pass = 0; pass < 2 && d > 0; ++pass) {
      float fd = 0, fm = 0;
      const float err = affine_error(x, n, d, off, qmax, nonpositive_min, trial, &fd, &fm);
      if (err < best_err) {
        best_err = err;
        best_d = fd;
        best_m = fm;
        std::copy(trial, trial + n, q);
      }
      d = fd;  // the second pass re-rounds with the refit parameters
      off = fm;
    }
  }
  *m = best_m;
  return best_d;
}

}  // namespace silica::ref
