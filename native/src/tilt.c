/* See tilt.h. Compiled without FMA contraction-prone flags (plain x86-64 target): products and sums round
 * separately, as in JavaScript. */
#include "tilt.h"

#include <math.h>

static void add_mean_features(const double *F, const double *ex, int64_t lo, int64_t hi, int64_t d,
                              double *mean2) {
  for (int64_t j = 0; j < d; j++) {
    double acc = mean2[j];
    for (int64_t a = lo; a < hi; a++) {
      const double wp = ex[a];
      if (wp != 0) acc += wp * F[a * d + j];
    }
    mean2[j] = acc;
  }
}

double gshf_tilt_accumulate(const int32_t *off, const double *W, const double *F, const double *logp,
                            const double *z, double *ex, int64_t nc, int64_t d, double s, double *mean2) {
  double kl_sum = 0;
  for (int64_t c = 0; c < nc; c++) {
    const double w = W[c];
    if (w == 0) continue;
    const int64_t lo = off[c], hi = off[c + 1];
    double m = -INFINITY;
    for (int64_t a = lo; a < hi; a++) {
      const double l = logp[a] + s * z[a];
      ex[a] = l;
      if (l > m) m = l;
    }
    double sum = 0;
    for (int64_t a = lo; a < hi; a++) {
      const double e = exp(ex[a] - m);
      ex[a] = e;
      sum += e;
    }
    const double log_a = m + log(sum);
    double ez = 0;
    for (int64_t a = lo; a < hi; a++) {
      const double p = ex[a] / sum;
      if (p == 0) {
        ex[a] = 0;
        continue;
      }
      ez += p * z[a];
      ex[a] = w * p;
    }
    add_mean_features(F, ex, lo, hi, d, mean2);
    const double klc = s * ez - log_a;
    kl_sum += w * (klc > 0 ? klc : 0);
  }
  return kl_sum;
}
