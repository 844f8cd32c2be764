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
/* Δφ rows out[i] = F[off[ctx[i]] + ch[i]] − F[off[ctx[i]] + rj[i]] (F: nRows×d row-major, off: C+1 entries)
 * for i < n. Returns −1, or the first pair whose context or actions are out of range (out is then partial). */
int64_t gshf_bt_gather(const double *F, int64_t nRows, int64_t d, const int32_t *off, int64_t C, const int32_t *ctx,
                       const int32_t *ch, const int32_t *rj, int64_t n, double *out);

/* Inputs of the fused Gibbs-policy evaluation (evaluateGibbsExact in src/bandit/policy.ts): π̂ ∝ π0·e^{Fθ/η}
 * per context, against the cached π* (rs = r*, lps = log π*, ps = π* per action; erS = E_π* r*,
 * klS = KL(π*‖π0) per context). The caller has checked that off is non-decreasing from 0 and every array
 * is long enough. logpOut (NULL or one entry per action) receives log π̂. */
typedef struct {
  const double *F, *ref, *w, *theta, *rs, *lps, *ps, *erS, *klS;
  const int32_t *off;
  int64_t C, d;
  double eta;
  double *logpOut;
  int threads;
} gshf_eval_in;

/* out = [jHat, jStar, klRef, klStarRef, klStarToHat, rewardHat] (weighted sums as EvalAccumulator; the
 * caller forms suboptimality and gap). Returns −1, the first context with a non-finite log-normaliser,
 * or −2 (out of memory). Splits the contexts over in->threads threads when the work is large. */
int64_t gshf_eval_gibbs(const gshf_eval_in *in, double out[6]);

/* out[i] = e^{x[i]} for x ≤ 0, and log1p(x[i]) for 0 ≤ x ≤ 1: the solver's vectorised kernels. */
void gshf_bt_vexp(const double *x, double *out, size_t n);
void gshf_bt_vlog1p(const double *x, double *out, size_t n);
#endif
