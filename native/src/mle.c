/*
 * Native ridge Bradley–Terry MLE: the whole Newton solve of src/bandit/mle.ts in C, for fitMLE when the
 * addon is built. Minimises L(θ) = Σ cnt_i·softplus(−z_i) + neg_i·z_i + (ridge/2)‖θ‖², z = Xθ.
 *
 * Each iteration is ONE fused pass over X (mle_impl.h): margins, vectorised exp/log1p, loss, gradient
 * and the upper-triangle Hessian, with the rows split over the worker threads when the pass is large.
 * Then a d×d Cholesky (with the same growing jitter as the TS path) and the Newton step. The Armijo line
 * search needs no extra pass: a step is tried by the next iteration's pass, whose loss decides whether it
 * is accepted (otherwise t is halved and the pass redone). Near the optimum the true decrease of L is
 * below the rounding error of its n-term sum, so the test allows the computed loss to exceed the Armijo
 * target by the sums' rounding bound (4·eps·Σ|terms| on each side); far from the optimum that slack is
 * negligible against the decrease, so the iterates are those of the exact line search.
 *
 * The result equals the TypeScript solver's (same objective, same stopping rule ‖∇‖ ≤ gtol) to the
 * accuracy of the stopping rule; test/native/mle-native.test.ts checks both paths against each other.
 */
#include "mle.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KFN(name) name##_generic
#define KATTR
#include "mle_impl.h"
#include "eval_impl.h"
#undef KFN
#undef KATTR

#if defined(__x86_64__) && defined(__GNUC__)
#define GSHF_MLE_AVX2 1
#define KFN(name) name##_avx2
#define KATTR __attribute__((target("avx2,fma")))
#include "mle_impl.h"
#include "eval_impl.h"
#undef KFN
#undef KATTR
#endif

/* Provided by OpenBLAS. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

typedef void (*pass_fn)(const double *, int64_t, int64_t, int64_t, const double *, const double *, const double *,
                        double *, double *, double *, double *, double *);
typedef void (*vec_fn)(const double *, double *, size_t);
typedef int64_t (*ev_fn)(const gshf_eval_in *, int64_t, int64_t, double *, double *, double *);

static pass_fn g_pass = bt_pass_generic;
static vec_fn g_vexp = bt_vexp_generic, g_vlog1p = bt_vlog1p_generic;
static ev_fn g_ev = ev_range_generic;
static const char *g_level = "generic";

const char *gshf_mle_init(void) {
  const char *force = getenv("GSHF_NATIVE_SIMD");
  g_pass = bt_pass_generic;
  g_vexp = bt_vexp_generic;
  g_vlog1p = bt_vlog1p_generic;
  g_ev = ev_range_generic;
  g_level = "generic";
#ifdef GSHF_MLE_AVX2
  if (!(force && strcmp(force, "generic") == 0)) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      g_pass = bt_pass_avx2;
      g_vexp = bt_vexp_avx2;
      g_vlog1p = bt_vlog1p_avx2;
      g_ev = ev_range_avx2;
      g_level = "avx2+fma";
    }
  }
#endif
  return g_level;
}

void gshf_bt_vexp(const double *x, double *out, size_t n) { g_vexp(x, out, n); }
void gshf_bt_vlog1p(const double *x, double *out, size_t n) { g_vlog1p(x, out, n); }

/* ---- passes split over threads ---- */

typedef struct {
  const double *X, *cnt, *neg, *theta;
  int64_t r0, r1, d;
  double *g, *H, *scratch;
  double loss, absLoss;
} part_t;

static void run_part(part_t *p) {
  memset(p->g, 0, (size_t)p->d * sizeof(double));
  memset(p->H, 0, (size_t)(p->d * p->d) * sizeof(double));
  g_pass(p->X, p->r0, p->r1, p->d, p->cnt, p->neg, p->theta, p->g, p->H, &p->loss, &p->absLoss, p->scratch);
}

typedef struct {
  pthread_barrier_t start, done;
  part_t *part;
  int stop;
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = (worker_t *)arg;
  for (;;) {
    pthread_barrier_wait(&w->start);
    if (w->stop) return NULL;
    run_part(w->part);
    pthread_barrier_wait(&w->done);
  }
}

/* Cholesky H = L·Lᵀ (row-major, lower triangle of L written, upper zeroed); 0 on success. */
static int cholesky(const double *H, int64_t d, double *L) {
  for (int64_t i = 0; i < d; i++) {
    for (int64_t j = 0; j <= i; j++) {
      double s = H[i * d + j];
      for (int64_t k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
      if (i == j) {
        if (!(s > 0)) return -1;
        L[i * d + i] = sqrt(s);
      } else {
        L[i * d + j] = s / L[j * d + j];
      }
    }
    for (int64_t j = i + 1; j < d; j++) L[i * d + j] = 0.0;
  }
  return 0;
}

/* As factorWithJitter in mle.ts: on failure add a diagonal jitter growing ×10 from max(1e-12, 1e-12·tr/d). */
static int factor_with_jitter(double *H, int64_t d, double *L) {
  if (cholesky(H, d, L) == 0) return 0;
  double tr = 0;
  for (int64_t j = 0; j < d; j++) tr += H[j * d + j];
  double jitter = fmax(1e-12, 1e-12 * tr / (double)d);
  for (int k = 0; k < 40; k++, jitter *= 10) {
    for (int64_t j = 0; j < d; j++) H[j * d + j] += jitter;
    if (cholesky(H, d, L) == 0) return 0;
    for (int64_t j = 0; j < d; j++) H[j * d + j] -= jitter;
  }
  return -1;
}

/* Solves L·Lᵀ x = b in place. */
static void chol_solve(const double *L, int64_t d, double *x) {
  for (int64_t i = 0; i < d; i++) {
    double s = x[i];
    for (int64_t k = 0; k < i; k++) s -= L[i * d + k] * x[k];
    x[i] = s / L[i * d + i];
  }
  for (int64_t i = d - 1; i >= 0; i--) {
    double s = x[i];
    for (int64_t k = i + 1; k < d; k++) s -= L[k * d + i] * x[k];
    x[i] = s / L[i * d + i];
  }
}

int gshf_bt_newton(const gshf_bt_problem *pr, double *theta, double *grad, double *H, double *L,
                   gshf_bt_result *res) {
  const int64_t n = pr->n, d = pr->d;
  int nt = pr->threads < 1 ? 1 : pr->threads > GSHF_BT_MAX_THREADS ? GSHF_BT_MAX_THREADS : pr->threads;
  /* Threads only pay for passes of ≳ 0.2 ms (a barrier round trip costs tens of µs, more under load). */
  if ((double)n * (double)(d * (d + 3) / 2) < pr->threadMinWork || n < 64 * nt) nt = 1;
  /* The dsyrk Hessian runs per row block, on one BLAS thread: a threaded BLAS call per block costs a
   * thread hand-off each time (and stalls when the machine is loaded); rows are split over our own
   * threads instead, each calling single-threaded dsyrk on its blocks. */
  const int syrk = d >= BT_SYRK_MIN_D;
  const int blas0 = syrk ? openblas_get_num_threads() : 1;
  if (blas0 > 1) openblas_set_num_threads(1);
  const size_t dd = (size_t)(d * d);
  const size_t scr = 3 * BT_BLK + (syrk ? (size_t)(BT_SYRK_ROWS(d) < 8 ? 8 : BT_SYRK_ROWS(d)) * (size_t)d : 0);
  double *mem = (double *)calloc((size_t)nt * (dd + (size_t)d + scr) + 2 * (size_t)d, sizeof(double));
  if (!mem) {
    if (blas0 > 1) openblas_set_num_threads(blas0);
    return -1;
  }
  part_t parts[GSHF_BT_MAX_THREADS];
  double *q = mem;
  for (int t = 0; t < nt; t++) {
    parts[t].X = pr->X;
    parts[t].cnt = pr->cnt;
    parts[t].neg = pr->neg;
    parts[t].theta = theta;
    parts[t].d = d;
    parts[t].r0 = n * t / nt;
    parts[t].r1 = n * (t + 1) / nt;
    parts[t].g = q;
    q += d;
    parts[t].H = q;
    q += dd;
    parts[t].scratch = q;
    q += scr;
  }
  double *thetaPrev = q, *step = q + d;
  worker_t workers[GSHF_BT_MAX_THREADS];
  pthread_t tids[GSHF_BT_MAX_THREADS];
  for (int t = 1; t < nt; t++) {
    worker_t *w = &workers[t];
    pthread_barrier_init(&w->start, NULL, 2);
    pthread_barrier_init(&w->done, NULL, 2);
    w->part = &parts[t];
    w->stop = 0;
    if (pthread_create(&tids[t], NULL, worker_main, w) != 0) {
      pthread_barrier_destroy(&w->start);
      pthread_barrier_destroy(&w->done);
      nt = t; /* fewer threads than asked: re-split the rows over those that started */
      for (int u = 0; u < nt; u++) {
        parts[u].r0 = n * u / nt;
        parts[u].r1 = n * (u + 1) / nt;
      }
      break;
    }
  }

  const double ridge = pr->ridge;
  double value = 0, valuePrev = 0, absPrev = 0, slope = 0, t = 1, gradNorm = INFINITY, gradNormPrev = INFINITY;
  int iterations = 0, tries = 0, havePrev = 0, converged = 0, haveFactor = 0, rc = 0;
  for (;;) {
    /* Phase 1: one pass at θ (threads split the rows), reduced into grad/H. */
    for (int u = 1; u < nt; u++) pthread_barrier_wait(&workers[u].start);
    run_part(&parts[0]);
    for (int u = 1; u < nt; u++) pthread_barrier_wait(&workers[u].done);
    double data = 0, absData = 0;
    memset(H, 0, dd * sizeof(double));
    for (int64_t j = 0; j < d; j++) grad[j] = 0;
    for (int u = 0; u < nt; u++) {
      data += parts[u].loss;
      absData += parts[u].absLoss;
      for (int64_t j = 0; j < d; j++) grad[j] += parts[u].g[j];
      for (int64_t a = 0; a < d; a++)
        for (int64_t b = a; b < d; b++) H[a * d + b] += parts[u].H[a * d + b];
    }
    double tt = 0;
    for (int64_t j = 0; j < d; j++) tt += theta[j] * theta[j];
    value = data + 0.5 * ridge * tt;

    /* Phase 2: the Armijo test of the step that led here (rejected: halve t and redo the pass). */
    if (havePrev) {
      const double noise = 4 * 2.220446049250313e-16 * (absData + absPrev + 0.5 * ridge * tt);
      if (!(value - valuePrev <= 1e-4 * t * slope + noise)) {
        if (++tries >= 60) {
          memcpy(theta, thetaPrev, (size_t)d * sizeof(double));
          value = valuePrev;
          gradNorm = gradNormPrev;
          converged = gradNorm <= pr->gtol * 1e3;
          iterations++;
          /* grad/H hold the rejected point: recompute nothing, the caller only reads θ and the numbers. */
          break;
        }
        t *= 0.5;
        for (int64_t j = 0; j < d; j++) theta[j] = thetaPrev[j] + t * step[j];
        continue;
      }
      iterations++;
    }
    for (int64_t j = 0; j < d; j++) grad[j] = ridge * theta[j] - grad[j];
    for (int64_t a = 0; a < d; a++) {
      H[a * d + a] += ridge;
      for (int64_t b = a + 1; b < d; b++) H[b * d + a] = H[a * d + b];
    }
    double g2 = 0;
    for (int64_t j = 0; j < d; j++) g2 += grad[j] * grad[j];
    gradNorm = sqrt(g2);
    if (gradNorm <= pr->gtol) {
      converged = 1;
      break;
    }
    if (iterations >= pr->maxIter) break;

    /* Phase 3: Newton step −H⁻¹∇ and its slope; θ moves to the trial point for the next pass. */
    if (factor_with_jitter(H, d, L) != 0) {
      rc = -2;
      break;
    }
    haveFactor = 1;
    for (int64_t j = 0; j < d; j++) step[j] = -grad[j];
    chol_solve(L, d, step);
    slope = 0;
    for (int64_t j = 0; j < d; j++) slope += grad[j] * step[j];
    if (!(-slope > 0)) {
      converged = gradNorm <= pr->gtol * 1e3;
      break;
    }
    memcpy(thetaPrev, theta, (size_t)d * sizeof(double));
    valuePrev = value;
    absPrev = absData;
    gradNormPrev = gradNorm;
    t = 1;
    tries = 0;
    havePrev = 1;
    for (int64_t j = 0; j < d; j++) theta[j] += step[j];
  }

  for (int u = 1; u < nt; u++) {
    workers[u].stop = 1;
    pthread_barrier_wait(&workers[u].start);
    pthread_join(tids[u], NULL);
    pthread_barrier_destroy(&workers[u].start);
    pthread_barrier_destroy(&workers[u].done);
  }
  free(mem);
  if (blas0 > 1) openblas_set_num_threads(blas0);
  res->value = value;
  res->gradNorm = gradNorm;
  res->iterations = iterations;
  res->converged = converged;
  res->haveFactor = haveFactor;
  res->threads = nt;
  return rc;
}

/* ---- Δφ gather (fitMLE from an environment and pairs) ---- */

static inline __attribute__((always_inline)) int64_t gather_body(const double *restrict F, int64_t nRows, const int64_t d,
                                                                const int32_t *off, int64_t C, const int32_t *ctx,
                                                                const int32_t *ch, const int32_t *rj, int64_t n,
                                                                double *restrict out) {
  for (int64_t i = 0; i < n; i++) {
    const int32_t c = ctx[i];
    if (c < 0 || c >= C) return i;
    const int64_t base = off[c], K = (int64_t)off[c + 1] - base, a = ch[i], b = rj[i];
    if (a < 0 || a >= K || b < 0 || b >= K || base < 0 || base + K > nRows) return i;
    const double *x = F + (base + a) * d, *y = F + (base + b) * d;
    double *o = out + i * d;
#pragma omp simd
    for (int64_t j = 0; j < d; j++) o[j] = x[j] - y[j];
  }
  return -1;
}

int64_t gshf_bt_gather(const double *F, int64_t nRows, int64_t d, const int32_t *off, int64_t C, const int32_t *ctx,
                       const int32_t *ch, const int32_t *rj, int64_t n, double *out) {
  switch (d) {
    case 4:
      return gather_body(F, nRows, 4, off, C, ctx, ch, rj, n, out);
    case 8:
      return gather_body(F, nRows, 8, off, C, ctx, ch, rj, n, out);
    default:
      return gather_body(F, nRows, d, off, C, ctx, ch, rj, n, out);
  }
}

/* ---- fused Gibbs evaluation, contexts split over threads ---- */

/* Split only when there are at least this many feature entries (A·d): a thread start costs ~50 µs. */
#define EV_THREAD_MIN_WORK (1 << 20)

typedef struct {
  const gshf_eval_in *in;
  int64_t c0, c1, bad;
  double *lh, *eh;
  double acc[6];
} ev_part_t;

static void *ev_worker(void *arg) {
  ev_part_t *p = (ev_part_t *)arg;
  p->bad = g_ev(p->in, p->c0, p->c1, p->lh, p->eh, p->acc);
  return NULL;
}

int64_t gshf_eval_gibbs(const gshf_eval_in *in, double out[6]) {
  const int64_t C = in->C, A = C > 0 ? in->off[C] : 0;
  int64_t kmax = 1;
  for (int64_t c = 0; c < C; c++) {
    const int64_t k = (int64_t)in->off[c + 1] - in->off[c];
    kmax = k > kmax ? k : kmax;
  }
  int nt = in->threads < 1 ? 1 : in->threads > GSHF_BT_MAX_THREADS ? GSHF_BT_MAX_THREADS : in->threads;
  if ((double)A * (double)in->d < EV_THREAD_MIN_WORK || C < 2 * nt) nt = 1;
  double *mem = (double *)malloc((size_t)nt * 2 * (size_t)kmax * sizeof(double));
  if (!mem) return -2;
  ev_part_t parts[GSHF_BT_MAX_THREADS];
  pthread_t tids[GSHF_BT_MAX_THREADS];
  int started[GSHF_BT_MAX_THREADS] = {0};
  /* Contexts split so that each part has about A/nt actions. */
  int64_t c = 0;
  for (int t = 0; t < nt; t++) {
    parts[t].in = in;
    parts[t].c0 = c;
    const int64_t target = A * (t + 1) / nt;
    while (c < C && (t == nt - 1 || in->off[c] < target)) c++;
    parts[t].c1 = c;
    parts[t].lh = mem + (size_t)t * 2 * (size_t)kmax;
    parts[t].eh = parts[t].lh + kmax;
  }
  for (int t = 1; t < nt; t++) started[t] = pthread_create(&tids[t], NULL, ev_worker, &parts[t]) == 0;
  for (int t = 1; t < nt; t++)
    if (!started[t]) ev_worker(&parts[t]);
  ev_worker(&parts[0]);
  for (int t = 1; t < nt; t++)
    if (started[t]) pthread_join(tids[t], NULL);
  int64_t bad = -1;
  for (int j = 0; j < 6; j++) out[j] = 0;
  for (int t = 0; t < nt; t++) {
    if (parts[t].bad >= 0) {
      bad = parts[t].bad;
      break;
    }
    for (int j = 0; j < 6; j++) out[j] += parts[t].acc[j];
  }
  free(mem);
  return bad;
}
