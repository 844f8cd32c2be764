/* See dpo.h. Plain x86-64 target: no FMA contraction, so every product and sum rounds as in JavaScript,
 * and exp is V8's (js_exp.h): the loop reproduces the TypeScript one bit for bit. */
#include "dpo.h"

#include <math.h>
#include <string.h>

#include "js_exp.h"

static double sigmoid(double z) {
  if (z >= 0) return 1 / (1 + gshf_js_exp(-z));
  const double e = gshf_js_exp(z);
  return e / (1 + e);
}

static void gradient(const int32_t *win, const int32_t *lose, const double *refDiff, int64_t n, double eta,
                     const double *p, double *g) {
  for (int64_t i = 0; i < n; i++) {
    const int32_t w = win[i], l = lose[i];
    const double h = eta * (p[w] - p[l] - refDiff[i]);
    const double gi = (eta * sigmoid(-h)) / (double)n;
    g[w] -= gi;
    g[l] += gi;
  }
}

static void adam_step(double *p, const double *g, double *m, double *v, int64_t P, double lr, double c1, double c2) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int64_t k = 0; k < P; k++) {
    const double gk = g[k];
    m[k] = b1 * m[k] + (1 - b1) * gk;
    v[k] = b2 * v[k] + (1 - b2) * gk * gk;
    if (v[k] == 0) continue; /* never touched by a pair: stays put */
    p[k] -= (lr * (m[k] / c1)) / (sqrt(v[k] / c2) + eps);
  }
}

void gshf_dpo_tabular_train(const int32_t *win, const int32_t *lose, const double *refDiff, int64_t n, double eta,
                            double *p, double *g, double *m, double *v, int64_t P, int64_t steps, const double *lr,
                            const double *c1, const double *c2, int adam) {
  for (int64_t t = 0; t < steps; t++) {
    memset(g, 0, (size_t)P * sizeof(double));
    gradient(win, lose, refDiff, n, eta, p, g);
    if (adam)
      adam_step(p, g, m, v, P, lr[t], c1[t], c2[t]);
    else
      for (int64_t k = 0; k < P; k++) p[k] -= lr[t] * g[k];
  }
}
