/* See tilt.h. Plain x86-64 target (no FMA contraction): products and sums round separately, as in
 * JavaScript. exp/log are libm's, which may differ from V8's in the last ulp (js_exp.h would match
 * V8 exactly but costs ~25% here); the enhancer only compares Γ with η·KL, so this never changed a
 * result of the shipped sweep. */
#include "tilt.h"

#include <math.h>

/* mean2[j] += Σ_{a∈[lo,hi)} ex[a]·F[a·d + j] in action order, one running sum per feature (the j loop
 * vectorises; each sum still adds its terms in the same order). Actions with ex[a] = 0 are skipped. */
#define TILT_MAX_D 64

/* d = 8 (the shipped lab) with the sums in registers. */
static void add_mean_features8(const double *F, const double *ex, int64_t lo, int64_t hi, double *mean2) {
  double a0 = mean2[0], a1 = mean2[1], a2 = mean2[2], a3 = mean2[3];
  double a4 = mean2[4], a5 = mean2[5], a6 = mean2[6], a7 = mean2[7];
  for (int64_t a = lo; a < hi; a++) {
    const double wp = ex[a];
    if (wp == 0) continue;
    const double *f = F + a * 8;
    a0 += wp * f[0];
    a1 += wp * f[1];
    a2 += wp * f[2];
    a3 += wp * f[3];
    a4 += wp * f[4];
    a5 += wp * f[5];
    a6 += wp * f[6];
    a7 += wp * f[7];
  }
  mean2[0] = a0, mean2[1] = a1, mean2[2] = a2, mean2[3] = a3;
  mean2[4] = a4, mean2[5] = a5, mean2[6] = a6, mean2[7] = a7;
}
static void add_mean_features(const double *F, const double *ex, int64_t lo, int64_t hi, int64_t d,
                              double *mean2) {
  if (d > TILT_MAX_D) {
    for (int64_t j = 0; j < d; j++) {
      double acc = mean2[j];
      for (int64_t a = lo; a < hi; a++)
        if (ex[a] != 0) acc += ex[a] * F[a * d + j];
      mean2[j] = acc;
    }
    return;
  }
  if (d == 8) {
    add_mean_features8(F, ex, lo, hi, mean2);
    return;
  }
  double acc[TILT_MAX_D];
  for (int64_t j = 0; j < d; j++) acc[j] = mean2[j];
  for (int64_t a = lo; a < hi; a++) {
    const double wp = ex[a];
    if (wp == 0) continue;
    const double *f = F + a * d;
    for (int64_t j = 0; j < d; j++) acc[j] += wp * f[j];
  }
  for (int64_t j = 0; j < d; j++) mean2[j] = acc[j];
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
