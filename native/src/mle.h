#ifndef GSHF_MLE_H
#define GSHF_MLE_H
#include <stddef.h>
#include <stdint.h>

#define GSHF_BT_MAX_THREADS 16

/* The data of a ridge Bradley–Terry fit: X is n×d row-major (Δφ rows); cnt/neg are NULL (one pair per
 * row) or both of length n (grouped rows: cnt pairs, neg of them with the opposite orientation). */
typedef struct {
  const double *X;
  int64_t n, d;
  const double *cnt, *neg;
  double ridge;
  int maxIter;
  double gtol;
  int threads;
  /* Split a pass over threads only when n·d(d+3)/2 ≥ this. */
  double threadMinWork;
} gshf_bt_problem;

typedef struct {
  double value, gradNorm;
  int iterations, converged, haveFactor, threads;
} gshf_bt_result;

/* Selects the AVX2+FMA or generic pass (GSHF_NATIVE_SIMD=generic forces generic); returns its name. */
const char *gshf_mle_init(void);
/* Newton + Armijo from θ (in/out). grad (d), H (d×d, both triangles, + ridge·I) are left at the returned
 * θ unless the line search failed; L holds the Cholesky factor of the last factorised Hessian.
 * Returns 0, −1 (out of memory) or −2 (Hessian not positive definite even with jitter). */
int gshf_bt_newton(const gshf_bt_problem *pr, double *theta, double *grad, double *H, double *L,
                   gshf_bt_result *res);
/* out[i] = e^{x[i]} for x ≤ 0, and log1p(x[i]) for 0 ≤ x ≤ 1: the solver's vectorised kernels. */
void gshf_bt_vexp(const double *x, double *out, size_t n);
void gshf_bt_vlog1p(const double *x, double *out, size_t n);
#endif
