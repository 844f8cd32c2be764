/*
 * gshf native kernels: a thin N-API layer over OpenBLAS (sgemm, dgemm, dsyrk) plus fused float32
 * element-wise kernels (GELU, AdamW, LayerNorm) from kernels.c. See src/native/index.ts for the
 * JS-side contract. Every argument is validated before any memory is touched: a wrong type or
 * argument count throws a TypeError, a value out of range (sizes, offsets, lengths, size products
 * that overflow) a RangeError naming the argument, and out-of-memory or a numerical failure an Error.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "kernels.h"
#include "mle.h"
#include "parallel.h"
#include "tilt.h"
#include "dpo.h"

/* Provided by OpenBLAS (declared in its cblas.h; redeclared here for other cblas.h flavours). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

static const gshf_kernels *K = NULL;

/* BLAS threads requested by setThreads (process-wide), and the size below which GEMMs run on one
 * thread (M·N·K < g_small_mnk; 0 disables). OpenBLAS's own cutoff is M·N·K < 262,144; above it, small
 * GEMMs such as per-(batch, head) attention products pay a thread hand-off that costs more than it
 * saves on 2 cores, and much more when the machine is loaded. */
static double g_small_mnk = 0;

/* Threads. OpenBLAS's thread count is process-wide, but every worker_thread of Node loads this addon
 * into the same process. So each JS environment keeps its own requested count (instance data, set by
 * setThreads), and while more than one environment is alive every call runs on ONE thread (BLAS and
 * our own pthreads): nothing then toggles the process-wide count, so concurrent calls from workers
 * cannot race on it. With a single environment, a call sets OpenBLAS to its count on entry (a
 * compare when unchanged) and may lower it to 1 around small GEMMs. Pools should still set
 * GSHF_THREADS=1 for their workers (src/bandit/experiment/pool.ts does): the count a worker asks for
 * is then the count it gets. */
typedef struct {
  int threads;
} env_state;

static atomic_int g_envs = 0;
static atomic_int g_blas_now = -1; /* what OpenBLAS is set to; only changed while one environment is alive */

static void set_blas_threads(int n) {
  if (atomic_load(&g_blas_now) != n) {
    openblas_set_num_threads(n);
    atomic_store(&g_blas_now, n);
  }
}

/* The thread count of a call from `env` (see above), with OpenBLAS set to it. */
static int call_threads(napi_env env) {
  env_state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  int t = atomic_load(&g_envs) > 1 ? 1 : st && st->threads > 0 ? st->threads : 1;
  set_blas_threads(t); /* with several environments t = 1: set once, then a compare */
  return t;
}

/* Runs `call` with one BLAS thread when the problem is small (th: the call's thread count).
 * openblas_set_num_threads only sets a counter when lowering/restoring (NO_AFFINITY builds). */
#define WITH_GEMM_THREADS(th, mnk, call)                                               \
  do {                                                                                 \
    if ((th) > 1 && (double)(mnk) < g_small_mnk) {                                     \
      set_blas_threads(1);                                                             \
      call;                                                                            \
      set_blas_threads(th);                                                            \
    } else {                                                                           \
      call;                                                                            \
    }                                                                                  \
  } while (0)

#define MAX_ARGS 16
#define MAX_SAFE 9007199254740991.0 /* 2^53 - 1 */

/* ---- argument helpers: each returns 0 on success, or throws and returns -1 ---- */

typedef enum { ERR_TYPE, ERR_RANGE, ERR_PLAIN } err_kind;

static int fail_as(napi_env env, err_kind kind, const char *fn, const char *msg) {
  char buf[512];
  snprintf(buf, sizeof buf, "gshf_native.%s: %s", fn, msg);
  if (kind == ERR_TYPE)
    napi_throw_type_error(env, NULL, buf);
  else if (kind == ERR_RANGE)
    napi_throw_range_error(env, NULL, buf);
  else
    napi_throw_error(env, NULL, buf);
  return -1;
}

/* A value out of range (size, offset, length, inconsistent arguments): RangeError. */
static int fail(napi_env env, const char *fn, const char *msg) { return fail_as(env, ERR_RANGE, fn, msg); }
/* A wrong type or argument count: TypeError. */
static int fail_type(napi_env env, const char *fn, const char *msg) { return fail_as(env, ERR_TYPE, fn, msg); }
/* Out of memory, a failed N-API call or a numerical failure: Error. */
static int fail_error(napi_env env, const char *fn, const char *msg) { return fail_as(env, ERR_PLAIN, fn, msg); }

static int get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, napi_value *argv) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
    return fail_error(env, fn, "cannot read arguments");
  if (argc != want) {
    char m[96];
    snprintf(m, sizeof m, "expected %zu arguments, got %zu", want, argc);
    return fail_type(env, fn, m);
  }
  return 0;
}

static int get_num(napi_env env, const char *fn, napi_value v, const char *name, double *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  char m[160];
  if (t != napi_number) {
    snprintf(m, sizeof m, "%s must be a number", name);
    return fail_type(env, fn, m);
  }
  napi_get_value_double(env, v, out);
  return 0;
}

static int get_finite(napi_env env, const char *fn, napi_value v, const char *name, double *out) {
  if (get_num(env, fn, v, name, out)) return -1;
  if (!isfinite(*out)) {
    char m[160];
    snprintf(m, sizeof m, "%s must be finite, got %g", name, *out);
    return fail(env, fn, m);
  }
  return 0;
}

/* Non-negative integer ≤ max. */
static int get_int(napi_env env, const char *fn, napi_value v, const char *name, double max, int64_t *out) {
  double d;
  if (get_num(env, fn, v, name, &d)) return -1;
  if (!(d >= 0) || d != floor(d) || d > max) {
    char m[200];
    snprintf(m, sizeof m, "%s must be an integer in [0, %.0f], got %g", name, max, d);
    return fail(env, fn, m);
  }
  *out = (int64_t)d;
  return 0;
}

static int get_bool(napi_env env, const char *fn, napi_value v, const char *name, int *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_boolean) {
    char m[160];
    snprintf(m, sizeof m, "%s must be a boolean", name);
    return fail_type(env, fn, m);
  }
  bool b;
  napi_get_value_bool(env, v, &b);
  *out = b ? 1 : 0;
  return 0;
}

static int get_typed(napi_env env, const char *fn, napi_value v, const char *name, napi_typedarray_type want,
                     void **data, int64_t *len) {
  bool is;
  char m[160];
  const char *tn = want == napi_float32_array ? "a Float32Array" : want == napi_float64_array ? "a Float64Array" : "an Int32Array";
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    snprintf(m, sizeof m, "%s must be %s", name, tn);
    return fail_type(env, fn, m);
  }
  napi_typedarray_type type;
  size_t length;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &off) != napi_ok) return fail_error(env, fn, "bad typed array");
  if (type != want) {
    snprintf(m, sizeof m, "%s must be %s", name, tn);
    return fail_type(env, fn, m);
  }
  if (length > 0 && *data == NULL) {
    snprintf(m, sizeof m, "%s is detached", name);
    return fail_type(env, fn, m);
  }
  *len = (int64_t)length;
  return 0;
}

/* A rows×cols row-major view at element offset off with leading dim ld must fit in len elements. */
static int check_view(napi_env env, const char *fn, const char *name, int64_t off, int64_t rows, int64_t cols,
                      int64_t ld, int64_t len) {
  char m[300];
  int64_t minld = cols > 1 ? cols : 1;
  if (ld < minld) {
    snprintf(m, sizeof m, "leading dimension of %s is %lld, must be >= max(1, %lld)", name, (long long)ld,
             (long long)cols);
    return fail(env, fn, m);
  }
  if (rows == 0 || cols == 0) {
    if (off > len) {
      snprintf(m, sizeof m, "offset of %s (%lld) is past its length (%lld)", name, (long long)off, (long long)len);
      return fail(env, fn, m);
    }
    return 0;
  }
  /* all quantities ≤ 2^53 and rows, ld ≤ 2^31, so (rows-1)*ld ≤ 2^62: no int64 overflow */
  int64_t end = off + (rows - 1) * ld + cols;
  if (end > len) {
    snprintf(m, sizeof m,
             "%s view out of bounds: offset %lld + (%lld rows - 1) * ld %lld + %lld cols = %lld > length %lld", name,
             (long long)off, (long long)rows, (long long)ld, (long long)cols, (long long)end, (long long)len);
    return fail(env, fn, m);
  }
  return 0;
}

static int check_len(napi_env env, const char *fn, const char *name, int64_t need, int64_t len) {
  if (need > len) {
    char m[200];
    snprintf(m, sizeof m, "%s has length %lld, needs at least %lld", name, (long long)len, (long long)need);
    return fail(env, fn, m);
  }
  return 0;
}

/* check_len for a length that is a product of sizes: `name` needs f[0]·f[1]·… elements. The
 * product is formed with __builtin_mul_overflow, so sizes whose product leaves int64 (or 2^53, beyond
 * any typed array) throw a RangeError naming the argument instead of wrapping around. */
static int need_len_(napi_env env, const char *fn, const char *name, const char *factors, int64_t len,
                     const int64_t *f, size_t k) {
  int64_t p = 1;
  for (size_t i = 0; i < k; i++) {
    if (f[i] < 0 || __builtin_mul_overflow(p, f[i], &p) || p > (int64_t)MAX_SAFE) {
      char expr[120], m[300];
      size_t o = 0;
      for (const char *c = factors; *c && o + 3 < sizeof expr; c++) /* "B, T, 3, C" -> "B * T * 3 * C" */
        if (*c == ',') {
          expr[o++] = ' ';
          expr[o++] = '*';
        } else
          expr[o++] = *c;
      expr[o] = 0;
      snprintf(m, sizeof m, "%s needs %s elements, which overflows (more than 2^53 - 1)", name, expr);
      return fail(env, fn, m);
    }
  }
  return check_len(env, fn, name, p, len);
}
#define NEED_LEN(env, fn, name, len, ...)                                                               \
  need_len_(env, fn, name, #__VA_ARGS__, len, (const int64_t[]){__VA_ARGS__},                         \
            sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

#define BLAS_MAX 2147483647.0

/* ---- GEMM ---- */

typedef struct {
  int ta, tb;
  int64_t M, N, K, offA, lda, offB, ldb, offC, ldc;
  double alpha, beta;
  void *A, *B, *C;
} gemm_args;

static int parse_gemm(napi_env env, napi_callback_info info, const char *fn, napi_typedarray_type tt, gemm_args *g) {
  napi_value a[MAX_ARGS];
  int64_t lA, lB, lC;
  if (get_args(env, info, fn, 16, a)) return -1;
  if (get_bool(env, fn, a[0], "transA", &g->ta) || get_bool(env, fn, a[1], "transB", &g->tb) ||
      get_int(env, fn, a[2], "M", BLAS_MAX, &g->M) || get_int(env, fn, a[3], "N", BLAS_MAX, &g->N) ||
      get_int(env, fn, a[4], "K", BLAS_MAX, &g->K) || get_num(env, fn, a[5], "alpha", &g->alpha) ||
      get_typed(env, fn, a[6], "A", tt, &g->A, &lA) || get_int(env, fn, a[7], "offA", MAX_SAFE, &g->offA) ||
      get_int(env, fn, a[8], "lda", BLAS_MAX, &g->lda) || get_typed(env, fn, a[9], "B", tt, &g->B, &lB) ||
      get_int(env, fn, a[10], "offB", MAX_SAFE, &g->offB) || get_int(env, fn, a[11], "ldb", BLAS_MAX, &g->ldb) ||
      get_num(env, fn, a[12], "beta", &g->beta) || get_typed(env, fn, a[13], "C", tt, &g->C, &lC) ||
      get_int(env, fn, a[14], "offC", MAX_SAFE, &g->offC) || get_int(env, fn, a[15], "ldc", BLAS_MAX, &g->ldc))
    return -1;
  /* stored shapes: op(A) is M×K, op(B) is K×N */
  int64_t rA = g->ta ? g->K : g->M, cA = g->ta ? g->M : g->K;
  int64_t rB = g->tb ? g->N : g->K, cB = g->tb ? g->K : g->N;
  if (check_view(env, fn, "A", g->offA, rA, cA, g->lda, lA) || check_view(env, fn, "B", g->offB, rB, cB, g->ldb, lB) ||
      check_view(env, fn, "C", g->offC, g->M, g->N, g->ldc, lC))
    return -1;
  return 0;
}

/* One output row (M = 1, e.g. KV-cache decode at batch 1): y = alpha·op(A)·op(B) + beta·y as a GEMV.
 * OpenBLAS's sgemm packs the whole of B for a single row, which makes decode pay a copy of every weight
 * matrix per token; sgemv streams B once. GEMVs are memory-bound, so the weight size (N·K), not the
 * M·N·K flop count, decides whether a second thread helps. */
static double g_gemv_threads_from = 65536;

static void sgemv_row(const gemm_args *g, float *y, int th) {
  const float *a = (const float *)g->A + g->offA;
  const float *b = (const float *)g->B + g->offB;
  int inca = g->ta ? (int)g->lda : 1; /* op(A) = Aᵀ: the row of op(A) is column 0 of A (K×1) */
  int many = th > 1 && (double)g->N * (double)g->K >= g_gemv_threads_from;
  if (th > 1 && !many) set_blas_threads(1);
  if (g->tb) /* B is N×K: y = B·a */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)g->N, (int)g->K, (float)g->alpha, b, (int)g->ldb, a, inca,
                (float)g->beta, y, 1);
  else /* B is K×N: y = Bᵀ·a */
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)g->K, (int)g->N, (float)g->alpha, b, (int)g->ldb, a, inca,
                (float)g->beta, y, 1);
  if (th > 1 && !many) set_blas_threads(th);
}

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  gemm_args g;
  if (parse_gemm(env, info, "sgemm", napi_float32_array, &g)) return NULL;
  if (g.M == 0 || g.N == 0) return NULL;
  float *C = (float *)g.C + g.offC;
  if (g.K == 0) { /* C = beta*C (BLAS quick-return semantics made explicit) */
    for (int64_t i = 0; i < g.M; i++)
      for (int64_t j = 0; j < g.N; j++) C[i * g.ldc + j] = g.beta == 0 ? 0.0f : (float)g.beta * C[i * g.ldc + j];
    return NULL;
  }
  const int th = call_threads(env);
  if (g.M == 1) {
    sgemv_row(&g, C, th);
    return NULL;
  }
  WITH_GEMM_THREADS(th, (double)g.M * (double)g.N * (double)g.K,
                    cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans,
                                (int)g.M, (int)g.N, (int)g.K, (float)g.alpha, (const float *)g.A + g.offA, (int)g.lda,
                                (const float *)g.B + g.offB, (int)g.ldb, (float)g.beta, C, (int)g.ldc));
  return NULL;
}

static napi_value Dgemm(napi_env env, napi_callback_info info) {
  gemm_args g;
  if (parse_gemm(env, info, "dgemm", napi_float64_array, &g)) return NULL;
  if (g.M == 0 || g.N == 0) return NULL;
  double *C = (double *)g.C + g.offC;
  if (g.K == 0) {
    for (int64_t i = 0; i < g.M; i++)
      for (int64_t j = 0; j < g.N; j++) C[i * g.ldc + j] = g.beta == 0 ? 0.0 : g.beta * C[i * g.ldc + j];
    return NULL;
  }
  const int th = call_threads(env);
  WITH_GEMM_THREADS(th, (double)g.M * (double)g.N * (double)g.K,
                    cblas_dgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans,
                                (int)g.M, (int)g.N, (int)g.K, g.alpha, (const double *)g.A + g.offA, (int)g.lda,
                                (const double *)g.B + g.offB, (int)g.ldb, g.beta, C, (int)g.ldc));
  return NULL;
}

/* dsyrk(n, d, alpha, A, offA, lda, beta, C): C (d×d) = alpha·AᵀA + beta·C, both triangles filled. */
static napi_value Dsyrk(napi_env env, napi_callback_info info) {
  const char *fn = "dsyrk";
  napi_value a[MAX_ARGS];
  int64_t n, d, offA, lda, lA, lC;
  double alpha, beta;
  void *A, *Cv;
  if (get_args(env, info, fn, 8, a) || get_int(env, fn, a[0], "n", BLAS_MAX, &n) ||
      get_int(env, fn, a[1], "d", 46340.0, &d) || get_num(env, fn, a[2], "alpha", &alpha) ||
      get_typed(env, fn, a[3], "A", napi_float64_array, &A, &lA) || get_int(env, fn, a[4], "offA", MAX_SAFE, &offA) ||
      get_int(env, fn, a[5], "lda", BLAS_MAX, &lda) || get_num(env, fn, a[6], "beta", &beta) ||
      get_typed(env, fn, a[7], "C", napi_float64_array, &Cv, &lC) ||
      check_view(env, fn, "A", offA, n, d, lda, lA) || NEED_LEN(env, fn, "C", lC, d, d))
    return NULL;
  if (d == 0) return NULL;
  double *C = (double *)Cv;
  call_threads(env);
  if (n == 0) {
    for (int64_t i = 0; i < d * d; i++) C[i] = beta == 0 ? 0.0 : beta * C[i];
  } else {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, alpha, (const double *)A + offA, (int)lda, beta,
                C, (int)d);
  }
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = i + 1; j < d; j++) C[j * d + i] = C[i * d + j];
  return NULL;
}

/* dsyrkWeighted(n, d, alpha, A, offA, lda, w, beta, C): C = alpha·Σ_i w_i·a_i a_iᵀ + beta·C (d×d, both
 * triangles). Rows are scaled into a scratch block (√w_i for dsyrk when every w_i ≥ 0; otherwise w_i, and
 * the block goes through dgemm against the unscaled rows, twice the flops), so no copy of A is made. */
static napi_value DsyrkWeighted(napi_env env, napi_callback_info info) {
  const char *fn = "dsyrkWeighted";
  napi_value a[MAX_ARGS];
  int64_t n, d, offA, lda, lA, lW, lC;
  double alpha, beta;
  void *A, *Wv, *Cv;
  if (get_args(env, info, fn, 9, a) || get_int(env, fn, a[0], "n", BLAS_MAX, &n) ||
      get_int(env, fn, a[1], "d", 46340.0, &d) || get_num(env, fn, a[2], "alpha", &alpha) ||
      get_typed(env, fn, a[3], "A", napi_float64_array, &A, &lA) || get_int(env, fn, a[4], "offA", MAX_SAFE, &offA) ||
      get_int(env, fn, a[5], "lda", BLAS_MAX, &lda) || get_typed(env, fn, a[6], "w", napi_float64_array, &Wv, &lW) ||
      get_num(env, fn, a[7], "beta", &beta) || get_typed(env, fn, a[8], "C", napi_float64_array, &Cv, &lC) ||
      check_view(env, fn, "A", offA, n, d, lda, lA) || check_len(env, fn, "w", n, lW) ||
      NEED_LEN(env, fn, "C", lC, d, d))
    return NULL;
  if (d == 0) return NULL;
  double *C = (double *)Cv;
  const double *X = (const double *)A + offA;
  const double *w = (const double *)Wv;
  call_threads(env);
  if (n == 0) {
    for (int64_t i = 0; i < d * d; i++) C[i] = beta == 0 ? 0.0 : beta * C[i];
    return NULL;
  }
  int nonneg = 1;
  for (int64_t i = 0; i < n; i++)
    if (!(w[i] >= 0)) {
      nonneg = 0;
      break;
    }
  int64_t rb = (1 << 20) / d; /* ≈8 MB of scratch */
  if (rb < 1) rb = 1;
  if (rb > n) rb = n;
  double *S = (double *)malloc((size_t)(rb * d) * sizeof(double));
  if (!S) {
    fail_error(env, fn, "out of memory");
    return NULL;
  }
  double b = beta;
  for (int64_t start = 0; start < n; start += rb) {
    const int64_t m = n - start < rb ? n - start : rb;
    for (int64_t r = 0; r < m; r++) {
      const double f = nonneg ? sqrt(w[start + r]) : w[start + r];
      const double *xr = X + (start + r) * lda;
      double *sr = S + r * d;
      for (int64_t j = 0; j < d; j++) sr[j] = f * xr[j];
    }
    if (nonneg)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, alpha, S, (int)d, b, C, (int)d);
    else
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)m, alpha, S, (int)d, X + start * lda,
                  (int)lda, b, C, (int)d);
    b = 1.0;
  }
  free(S);
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = i + 1; j < d; j++) C[j * d + i] = C[i * d + j];
  return NULL;
}

/* ---- fused float32 kernels ---- */

/* ---- element-wise kernels on both cores (parallel.c): each range is an independent slice ---- */

#define PAR_MIN 65536 /* elements per thread below which a kernel runs on the calling thread */

typedef struct {
  const float *x, *dy;
  float *y;
} gelu_ctx;

static void gelu_fwd_range(void *c, size_t i0, size_t i1) {
  gelu_ctx *g = (gelu_ctx *)c;
  K->gelu_forward(g->x + i0, g->y + i0, i1 - i0);
}

static void gelu_bwd_range(void *c, size_t i0, size_t i1) {
  gelu_ctx *g = (gelu_ctx *)c;
  K->gelu_backward(g->x + i0, g->dy + i0, g->y + i0, i1 - i0);
}

typedef struct {
  float *p, *m, *v;
  const float *g;
  float lr, b1, b2, eps, wd, ibc1, ibc2;
} adamw_ctx;

static void adamw_range(void *c, size_t i0, size_t i1) {
  adamw_ctx *a = (adamw_ctx *)c;
  K->adamw(a->p + i0, a->g + i0, a->m + i0, a->v + i0, i1 - i0, a->lr, a->b1, a->b2, a->eps, a->wd, a->ibc1,
           a->ibc2);
}

static napi_value GeluForward(napi_env env, napi_callback_info info) {
  const char *fn = "geluForward";
  napi_value a[MAX_ARGS];
  void *x, *y;
  int64_t lx, ly, n;
  if (get_args(env, info, fn, 3, a) || get_typed(env, fn, a[0], "x", napi_float32_array, &x, &lx) ||
      get_typed(env, fn, a[1], "y", napi_float32_array, &y, &ly) || get_int(env, fn, a[2], "n", MAX_SAFE, &n) ||
      check_len(env, fn, "x", n, lx) || check_len(env, fn, "y", n, ly))
    return NULL;
  gelu_ctx c = {(const float *)x, NULL, (float *)y};
  gshf_parallel_range((size_t)n, PAR_MIN, call_threads(env), gelu_fwd_range, &c);
  return NULL;
}

static napi_value GeluBackward(napi_env env, napi_callback_info info) {
  const char *fn = "geluBackward";
  napi_value a[MAX_ARGS];
  void *x, *dy, *dx;
  int64_t lx, ldy, ldx, n;
  if (get_args(env, info, fn, 4, a) || get_typed(env, fn, a[0], "x", napi_float32_array, &x, &lx) ||
      get_typed(env, fn, a[1], "dy", napi_float32_array, &dy, &ldy) ||
      get_typed(env, fn, a[2], "dx", napi_float32_array, &dx, &ldx) || get_int(env, fn, a[3], "n", MAX_SAFE, &n) ||
      check_len(env, fn, "x", n, lx) || check_len(env, fn, "dy", n, ldy) || check_len(env, fn, "dx", n, ldx))
    return NULL;
  gelu_ctx c = {(const float *)x, (const float *)dy, (float *)dx}; /* y holds dx (accumulated) */
  gshf_parallel_range((size_t)n, PAR_MIN, call_threads(env), gelu_bwd_range, &c);
  return NULL;
}

static napi_value Adamw(napi_env env, napi_callback_info info) {
  const char *fn = "adamw";
  napi_value a[MAX_ARGS];
  void *p, *g, *m, *v;
  int64_t lp, lg, lm, lv, n;
  double lr, b1, b2, eps, wd, t;
  if (get_args(env, info, fn, 11, a) || get_typed(env, fn, a[0], "param", napi_float32_array, &p, &lp) ||
      get_typed(env, fn, a[1], "grad", napi_float32_array, &g, &lg) ||
      get_typed(env, fn, a[2], "m", napi_float32_array, &m, &lm) ||
      get_typed(env, fn, a[3], "v", napi_float32_array, &v, &lv) || get_int(env, fn, a[4], "n", MAX_SAFE, &n) ||
      get_finite(env, fn, a[5], "lr", &lr) || get_finite(env, fn, a[6], "beta1", &b1) ||
      get_finite(env, fn, a[7], "beta2", &b2) || get_finite(env, fn, a[8], "eps", &eps) ||
      get_finite(env, fn, a[9], "weightDecay", &wd) || get_finite(env, fn, a[10], "t", &t) ||
      check_len(env, fn, "param", n, lp) || check_len(env, fn, "grad", n, lg) || check_len(env, fn, "m", n, lm) ||
      check_len(env, fn, "v", n, lv))
    return NULL;
  if (t < 1) {
    fail(env, fn, "t (step count) must be >= 1");
    return NULL;
  }
  if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) {
    fail(env, fn, "beta1 and beta2 must be in [0, 1)");
    return NULL;
  }
  if (p == g || p == m || p == v || g == m || g == v || m == v) {
    if (n > 0) {
      fail(env, fn, "param, grad, m and v must be distinct arrays");
      return NULL;
    }
  }
  double ibc1 = 1.0 / (1.0 - pow(b1, t)), ibc2 = 1.0 / (1.0 - pow(b2, t));
  adamw_ctx c = {(float *)p,  (float *)m,  (float *)v,  (const float *)g, (float)lr,  (float)b1,
                 (float)b2,   (float)eps,  (float)wd,   (float)ibc1,      (float)ibc2};
  gshf_parallel_range((size_t)n, PAR_MIN, call_threads(env), adamw_range, &c);
  return NULL;
}

static napi_value LayerNormForward(napi_env env, napi_callback_info info) {
  const char *fn = "layerNormForward";
  napi_value a[MAX_ARGS];
  void *x, *w, *b, *out, *mean, *rstd;
  int64_t lx, lw, lb, lo, lm, lr, rows, cols;
  double eps;
  if (get_args(env, info, fn, 9, a) || get_typed(env, fn, a[0], "x", napi_float32_array, &x, &lx) ||
      get_typed(env, fn, a[1], "w", napi_float32_array, &w, &lw) ||
      get_typed(env, fn, a[2], "b", napi_float32_array, &b, &lb) ||
      get_typed(env, fn, a[3], "out", napi_float32_array, &out, &lo) ||
      get_typed(env, fn, a[4], "mean", napi_float32_array, &mean, &lm) ||
      get_typed(env, fn, a[5], "rstd", napi_float32_array, &rstd, &lr) ||
      get_int(env, fn, a[6], "rows", BLAS_MAX, &rows) || get_int(env, fn, a[7], "cols", BLAS_MAX, &cols) ||
      get_finite(env, fn, a[8], "eps", &eps) || NEED_LEN(env, fn, "x", lx, rows, cols) ||
      check_len(env, fn, "w", cols, lw) || check_len(env, fn, "b", cols, lb) ||
      NEED_LEN(env, fn, "out", lo, rows, cols) || check_len(env, fn, "mean", rows, lm) ||
      check_len(env, fn, "rstd", rows, lr))
    return NULL;
  if (cols == 0) {
    if (rows > 0) fail(env, fn, "cols must be >= 1");
    return NULL;
  }
  K->layernorm_forward((const float *)x, (const float *)w, (const float *)b, (float *)out, (float *)mean,
                       (float *)rstd, (size_t)rows, (size_t)cols, (float)eps);
  return NULL;
}

static napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  const char *fn = "layerNormBackward";
  napi_value a[MAX_ARGS];
  void *dout, *x, *w, *mean, *rstd, *dx, *dw, *db;
  int64_t ldo, lx, lw, lm, lr, ldx, ldw, ldb, rows, cols;
  if (get_args(env, info, fn, 10, a) || get_typed(env, fn, a[0], "dout", napi_float32_array, &dout, &ldo) ||
      get_typed(env, fn, a[1], "x", napi_float32_array, &x, &lx) ||
      get_typed(env, fn, a[2], "w", napi_float32_array, &w, &lw) ||
      get_typed(env, fn, a[3], "mean", napi_float32_array, &mean, &lm) ||
      get_typed(env, fn, a[4], "rstd", napi_float32_array, &rstd, &lr) ||
      get_typed(env, fn, a[5], "dx", napi_float32_array, &dx, &ldx) ||
      get_typed(env, fn, a[6], "dw", napi_float32_array, &dw, &ldw) ||
      get_typed(env, fn, a[7], "db", napi_float32_array, &db, &ldb) ||
      get_int(env, fn, a[8], "rows", BLAS_MAX, &rows) || get_int(env, fn, a[9], "cols", BLAS_MAX, &cols) ||
      NEED_LEN(env, fn, "dout", ldo, rows, cols) || NEED_LEN(env, fn, "x", lx, rows, cols) ||
      check_len(env, fn, "w", cols, lw) || check_len(env, fn, "mean", rows, lm) ||
      check_len(env, fn, "rstd", rows, lr) || NEED_LEN(env, fn, "dx", ldx, rows, cols) ||
      check_len(env, fn, "dw", cols, ldw) || check_len(env, fn, "db", cols, ldb))
    return NULL;
  if (cols == 0) return NULL;
  K->layernorm_backward((const float *)dout, (const float *)x, (const float *)w, (const float *)mean,
                        (const float *)rstd, (float *)dx, (float *)dw, (float *)db, (size_t)rows, (size_t)cols);
  return NULL;
}

/* softmaxCausal(att, T, blocks) */
static napi_value SoftmaxCausal(napi_env env, napi_callback_info info) {
  const char *fn = "softmaxCausal";
  napi_value a[MAX_ARGS];
  void *att;
  int64_t la, T, blocks;
  if (get_args(env, info, fn, 3, a) || get_typed(env, fn, a[0], "att", napi_float32_array, &att, &la) ||
      get_int(env, fn, a[1], "T", 46340.0, &T) || get_int(env, fn, a[2], "blocks", BLAS_MAX, &blocks) ||
      NEED_LEN(env, fn, "att", la, blocks, T, T))
    return NULL;
  K->softmax_causal((float *)att, (size_t)T, (size_t)blocks);
  return NULL;
}

/* lmLogProbs(logits, tokens, mask, B, T, V, lse, tokLp) and
 * lmLogitsBackward(logits, lse, dlogp, tokens, B, T, V): kernels_impl.h lm_logprobs /
 * lm_logits_backward over all rows, split over the BLAS thread count. */
typedef struct {
  float *logits;
  const int32_t *tokens;
  const float *mask, *dlogp;
  size_t T, V;
  float *lse, *tokLp;
} lm_ctx;

static void lm_logprobs_range(void *c, size_t b0, size_t b1) {
  lm_ctx *x = (lm_ctx *)c;
  K->lm_logprobs(x->logits, x->tokens, x->mask, x->T, x->V, b0, b1, x->lse, x->tokLp);
}

static void lm_backward_range(void *c, size_t r0, size_t r1) {
  lm_ctx *x = (lm_ctx *)c;
  K->lm_logits_backward(x->logits, x->lse, x->dlogp, x->tokens, x->T, x->V, r0, r1);
}

/* Every token id in [0, V) (the kernels index logits rows with them). */
static int check_tokens(napi_env env, const char *fn, const int32_t *tok, int64_t n, int64_t V) {
  for (int64_t i = 0; i < n; i++)
    if (tok[i] < 0 || tok[i] >= V) {
      char m[160];
      snprintf(m, sizeof m, "tokens[%lld] = %d is outside the vocabulary [0, %lld)", (long long)i, tok[i], (long long)V);
      return fail(env, fn, m);
    }
  return 0;
}

static napi_value LmLogProbs(napi_env env, napi_callback_info info) {
  const char *fn = "lmLogProbs";
  napi_value a[MAX_ARGS];
  void *lg, *tk, *mk, *ls, *tl;
  int64_t llg, ltk, lmk, lls, ltl, B, T, V;
  if (get_args(env, info, fn, 8, a) || get_typed(env, fn, a[0], "logits", napi_float32_array, &lg, &llg) ||
      get_typed(env, fn, a[1], "tokens", napi_int32_array, &tk, &ltk) ||
      get_typed(env, fn, a[2], "mask", napi_float32_array, &mk, &lmk) || get_int(env, fn, a[3], "B", BLAS_MAX, &B) ||
      get_int(env, fn, a[4], "T", BLAS_MAX, &T) || get_int(env, fn, a[5], "V", BLAS_MAX, &V) ||
      get_typed(env, fn, a[6], "lse", napi_float32_array, &ls, &lls) ||
      get_typed(env, fn, a[7], "tokLp", napi_float32_array, &tl, &ltl))
    return NULL;
  const int64_t BT = B * T;
  if (NEED_LEN(env, fn, "logits", llg, B, T, V) || check_len(env, fn, "tokens", BT, ltk) ||
      check_len(env, fn, "mask", BT, lmk) || check_len(env, fn, "lse", BT, lls) || check_len(env, fn, "tokLp", BT, ltl) ||
      check_tokens(env, fn, (const int32_t *)tk, BT, V))
    return NULL;
  if (BT == 0 || V == 0) return NULL;
  lm_ctx c = {(float *)lg, (const int32_t *)tk, (const float *)mk, NULL, (size_t)T, (size_t)V, (float *)ls, (float *)tl};
  gshf_parallel_range((size_t)B, 1 + PAR_MIN / (size_t)(T * V), call_threads(env), lm_logprobs_range, &c);
  return NULL;
}

static napi_value LmLogitsBackward(napi_env env, napi_callback_info info) {
  const char *fn = "lmLogitsBackward";
  napi_value a[MAX_ARGS];
  void *lg, *ls, *dl, *tk;
  int64_t llg, lls, ldl, ltk, B, T, V;
  if (get_args(env, info, fn, 7, a) || get_typed(env, fn, a[0], "logits", napi_float32_array, &lg, &llg) ||
      get_typed(env, fn, a[1], "lse", napi_float32_array, &ls, &lls) ||
      get_typed(env, fn, a[2], "dlogp", napi_float32_array, &dl, &ldl) ||
      get_typed(env, fn, a[3], "tokens", napi_int32_array, &tk, &ltk) || get_int(env, fn, a[4], "B", BLAS_MAX, &B) ||
      get_int(env, fn, a[5], "T", BLAS_MAX, &T) || get_int(env, fn, a[6], "V", BLAS_MAX, &V))
    return NULL;
  const int64_t BT = B * T;
  if (NEED_LEN(env, fn, "logits", llg, B, T, V) || check_len(env, fn, "lse", BT, lls) ||
      check_len(env, fn, "dlogp", BT, ldl) || check_len(env, fn, "tokens", BT, ltk) ||
      check_tokens(env, fn, (const int32_t *)tk, BT, V))
    return NULL;
  if (BT == 0 || V == 0) return NULL;
  lm_ctx c = {(float *)lg, (const int32_t *)tk, NULL, (const float *)dl, (size_t)T, (size_t)V, (float *)ls, NULL};
  gshf_parallel_range((size_t)BT, 1 + PAR_MIN / (size_t)V, call_threads(env), lm_backward_range, &c);
  return NULL;
}

/* attentionForward(qkv, att, y, B, T, nHead, headSize, scale) and
 * attentionBackward(qkv, att, dy, dqkv, B, T, nHead, headSize, scale): see attention.c. */
static int get_attn_dims(napi_env env, const char *fn, napi_value *a, int64_t *B, int64_t *T, int64_t *NH,
                         int64_t *hs, double *scale) {
  if (get_int(env, fn, a[0], "B", BLAS_MAX, B) || get_int(env, fn, a[1], "T", 46340.0, T) ||
      get_int(env, fn, a[2], "nHead", 65536.0, NH) || get_int(env, fn, a[3], "headSize", 65536.0, hs) ||
      get_finite(env, fn, a[4], "scale", scale))
    return -1;
  if (*NH < 1 || *hs < 1) return fail(env, fn, "nHead and headSize must be >= 1");
  return 0;
}

static napi_value AttentionForward(napi_env env, napi_callback_info info) {
  const char *fn = "attentionForward";
  napi_value a[MAX_ARGS];
  void *qkv, *att, *y;
  int64_t lq, la, ly, B, T, NH, hs;
  double scale;
  if (get_args(env, info, fn, 8, a) || get_typed(env, fn, a[0], "qkv", napi_float32_array, &qkv, &lq) ||
      get_typed(env, fn, a[1], "att", napi_float32_array, &att, &la) ||
      get_typed(env, fn, a[2], "y", napi_float32_array, &y, &ly) || get_attn_dims(env, fn, a + 3, &B, &T, &NH, &hs, &scale))
    return NULL;
  const int64_t C = NH * hs;
  if (NEED_LEN(env, fn, "qkv", lq, B, T, 3, C) || NEED_LEN(env, fn, "att", la, B, NH, T, T) ||
      NEED_LEN(env, fn, "y", ly, B, T, C))
    return NULL;
  if (B == 0 || T == 0) return NULL;
  const int th = call_threads(env);
  if (gshf_attention_forward(K, (const float *)qkv, (float *)att, (float *)y, (size_t)B, (size_t)T, (size_t)NH,
                             (size_t)hs, (float)scale, th, th))
    fail_error(env, fn, "out of memory");
  return NULL;
}

static napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  const char *fn = "attentionBackward";
  napi_value a[MAX_ARGS];
  void *qkv, *att, *dy, *dqkv;
  int64_t lq, la, ly, ld, B, T, NH, hs;
  double scale;
  if (get_args(env, info, fn, 9, a) || get_typed(env, fn, a[0], "qkv", napi_float32_array, &qkv, &lq) ||
      get_typed(env, fn, a[1], "att", napi_float32_array, &att, &la) ||
      get_typed(env, fn, a[2], "dy", napi_float32_array, &dy, &ly) ||
      get_typed(env, fn, a[3], "dqkv", napi_float32_array, &dqkv, &ld) ||
      get_attn_dims(env, fn, a + 4, &B, &T, &NH, &hs, &scale))
    return NULL;
  const int64_t C = NH * hs;
  if (NEED_LEN(env, fn, "qkv", lq, B, T, 3, C) || NEED_LEN(env, fn, "att", la, B, NH, T, T) ||
      NEED_LEN(env, fn, "dy", ly, B, T, C) || NEED_LEN(env, fn, "dqkv", ld, B, T, 3, C))
    return NULL;
  if (B == 0 || T == 0) return NULL;
  const int th = call_threads(env);
  if (gshf_attention_backward(K, (const float *)qkv, (const float *)att, (const float *)dy, (float *)dqkv,
                              (size_t)B, (size_t)T, (size_t)NH, (size_t)hs, (float)scale, th, th))
    fail_error(env, fn, "out of memory");
  return NULL;
}

/* attentionDecode(q, qStride, k, v, out, slots, lens, S, nHead, headSize, blockSize, scale) */
static napi_value AttentionDecode(napi_env env, napi_callback_info info) {
  const char *fn = "attentionDecode";
  napi_value a[MAX_ARGS];
  void *q, *k, *v, *out, *slotsv, *lensv;
  int64_t lq, lk, lv, lo, lsl, lle, qStride, S, NH, hs, blk;
  double scale;
  if (get_args(env, info, fn, 12, a) || get_typed(env, fn, a[0], "q", napi_float32_array, &q, &lq) ||
      get_int(env, fn, a[1], "qStride", BLAS_MAX, &qStride) ||
      get_typed(env, fn, a[2], "k", napi_float32_array, &k, &lk) ||
      get_typed(env, fn, a[3], "v", napi_float32_array, &v, &lv) ||
      get_typed(env, fn, a[4], "out", napi_float32_array, &out, &lo) ||
      get_typed(env, fn, a[5], "slots", napi_int32_array, &slotsv, &lsl) ||
      get_typed(env, fn, a[6], "lens", napi_int32_array, &lensv, &lle) ||
      get_int(env, fn, a[7], "S", BLAS_MAX, &S) || get_int(env, fn, a[8], "nHead", 65536.0, &NH) ||
      get_int(env, fn, a[9], "headSize", 65536.0, &hs) || get_int(env, fn, a[10], "blockSize", BLAS_MAX, &blk) ||
      get_finite(env, fn, a[11], "scale", &scale))
    return NULL;
  if (NH < 1 || hs < 1 || blk < 1) {
    fail(env, fn, "nHead, headSize and blockSize must be >= 1");
    return NULL;
  }
  const int64_t C = NH * hs;
  if (S == 0) return NULL;
  if (qStride < C) {
    fail(env, fn, "qStride must be >= nHead * headSize");
    return NULL;
  }
  if (check_len(env, fn, "q", (S - 1) * qStride + C, lq) || NEED_LEN(env, fn, "out", lo, S, C) ||
      check_len(env, fn, "slots", S, lsl) || check_len(env, fn, "lens", S, lle))
    return NULL;
  const int32_t *slots = (const int32_t *)slotsv, *lens = (const int32_t *)lensv;
  for (int64_t r = 0; r < S; r++) {
    char m[200];
    if (lens[r] < 1 || lens[r] > blk) {
      snprintf(m, sizeof m, "lens[%lld] = %d must be in [1, blockSize = %lld]", (long long)r, lens[r], (long long)blk);
      fail(env, fn, m);
      return NULL;
    }
    if (slots[r] < 0) {
      snprintf(m, sizeof m, "slots[%lld] = %d must be >= 0", (long long)r, slots[r]);
      fail(env, fn, m);
      return NULL;
    }
    int64_t end;
    if (__builtin_mul_overflow((int64_t)slots[r] + 1, blk, &end) || __builtin_mul_overflow(end, C, &end)) {
      snprintf(m, sizeof m, "slot %d: (slot + 1) * blockSize * C overflows", slots[r]);
      fail(env, fn, m);
      return NULL;
    }
    if (end > lk || end > lv) {
      snprintf(m, sizeof m, "slot %d needs k and v of length >= %lld (have %lld and %lld)", slots[r], (long long)end,
               (long long)lk, (long long)lv);
      fail(env, fn, m);
      return NULL;
    }
  }
  float *scores = (float *)malloc((size_t)blk * sizeof(float));
  if (!scores) {
    fail_error(env, fn, "out of memory");
    return NULL;
  }
  K->attention_decode((const float *)q, (size_t)qStride, (const float *)k, (const float *)v, (float *)out, slots, lens,
                      (size_t)S, (size_t)NH, (size_t)hs, (size_t)blk, (float)scale, scores);
  free(scores);
  return NULL;
}

/* ---- bandit MLE (mle.c) ---- */

/* Minimum n·d(d+3)/2 for splitting one Newton pass over threads (setBtThreadMinWork). */
static double g_bt_min_work = 2e6;

/* btNewton(X, n, d, cnt|null, neg|null, ridge, theta, maxIter, gtol, grad, H, L, info):
 * the Newton solve of mle.c on n×d row-major X, θ in/out. info (Float64Array ≥ 6) receives
 * [value, gradNorm, iterations, converged, haveFactor, threads]. */
static napi_value BtNewton(napi_env env, napi_callback_info info) {
  const char *fn = "btNewton";
  napi_value a[MAX_ARGS];
  void *X, *cnt = NULL, *neg = NULL, *th, *gr, *Hv, *Lv, *inf;
  int64_t n, d, lX, lc = 0, ln = 0, lt, lg, lH, lL, li, maxIter;
  double ridge, gtol;
  if (get_args(env, info, fn, 13, a) || get_typed(env, fn, a[0], "X", napi_float64_array, &X, &lX) ||
      get_int(env, fn, a[1], "n", MAX_SAFE, &n) || get_int(env, fn, a[2], "d", 46340.0, &d))
    return NULL;
  napi_valuetype tc, tn;
  napi_typeof(env, a[3], &tc);
  napi_typeof(env, a[4], &tn);
  if ((tc == napi_null) != (tn == napi_null)) {
    fail_type(env, fn, "cnt and neg must both be null or both be Float64Arrays");
    return NULL;
  }
  if (tc != napi_null && (get_typed(env, fn, a[3], "cnt", napi_float64_array, &cnt, &lc) ||
                          get_typed(env, fn, a[4], "neg", napi_float64_array, &neg, &ln) ||
                          check_len(env, fn, "cnt", n, lc) || check_len(env, fn, "neg", n, ln)))
    return NULL;
  if (get_finite(env, fn, a[5], "ridge", &ridge) || get_typed(env, fn, a[6], "theta", napi_float64_array, &th, &lt) ||
      get_int(env, fn, a[7], "maxIter", 1e9, &maxIter) || get_finite(env, fn, a[8], "gtol", &gtol) ||
      get_typed(env, fn, a[9], "grad", napi_float64_array, &gr, &lg) ||
      get_typed(env, fn, a[10], "H", napi_float64_array, &Hv, &lH) ||
      get_typed(env, fn, a[11], "L", napi_float64_array, &Lv, &lL) ||
      get_typed(env, fn, a[12], "info", napi_float64_array, &inf, &li) || NEED_LEN(env, fn, "X", lX, n, d) ||
      check_len(env, fn, "theta", d, lt) || check_len(env, fn, "grad", d, lg) || NEED_LEN(env, fn, "H", lH, d, d) ||
      NEED_LEN(env, fn, "L", lL, d, d) || check_len(env, fn, "info", 6, li))
    return NULL;
  if (!(ridge >= 0) || !(gtol >= 0) || d < 1) {
    fail(env, fn, "need ridge >= 0, gtol >= 0 and d >= 1");
    return NULL;
  }
  gshf_bt_problem pr = {(const double *)X, n, d, (const double *)cnt, (const double *)neg, ridge, (int)maxIter, gtol,
                        call_threads(env), g_bt_min_work};
  gshf_bt_result r;
  int rc = gshf_bt_newton(&pr, (double *)th, (double *)gr, (double *)Hv, (double *)Lv, &r);
  if (rc == -1) {
    fail_error(env, fn, "out of memory");
    return NULL;
  }
  if (rc == -2) {
    fail_error(env, fn, "Hessian is not positive definite even with jitter (NaN features?)");
    return NULL;
  }
  double *o = (double *)inf;
  o[0] = r.value;
  o[1] = r.gradNorm;
  o[2] = r.iterations;
  o[3] = r.converged;
  o[4] = r.haveFactor;
  o[5] = r.threads;
  return NULL;
}

/* setBtThreadMinWork(w): btNewton splits a pass over the BLAS thread count only when n·d(d+3)/2 ≥ w. */
static napi_value SetBtThreadMinWork(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int64_t v;
  if (get_args(env, info, "setBtThreadMinWork", 1, a) ||
      get_int(env, "setBtThreadMinWork", a[0], "work", MAX_SAFE, &v))
    return NULL;
  g_bt_min_work = (double)v;
  return NULL;
}

/* btVec(kind, x, out, n): out = e^x (kind 0, x ≤ 0) or log1p(x) (kind 1, 0 ≤ x ≤ 1), the solver's kernels. */
static napi_value BtVec(napi_env env, napi_callback_info info) {
  const char *fn = "btVec";
  napi_value a[MAX_ARGS];
  int64_t kind, n, lx, lo;
  void *x, *o;
  if (get_args(env, info, fn, 4, a) || get_int(env, fn, a[0], "kind", 1, &kind) ||
      get_typed(env, fn, a[1], "x", napi_float64_array, &x, &lx) ||
      get_typed(env, fn, a[2], "out", napi_float64_array, &o, &lo) || get_int(env, fn, a[3], "n", MAX_SAFE, &n) ||
      check_len(env, fn, "x", n, lx) || check_len(env, fn, "out", n, lo))
    return NULL;
  if (kind == 0)
    gshf_bt_vexp((const double *)x, (double *)o, (size_t)n);
  else
    gshf_bt_vlog1p((const double *)x, (double *)o, (size_t)n);
  return NULL;
}

/* ---- exponential tilt (bandit uncertainty enhancer) ---- */

/* The actions' offsets must be non-decreasing from 0 and end within every per-action array. */
static int check_offsets(napi_env env, const char *fn, const int32_t *off, int64_t nc, int64_t *nActions) {
  if (off[0] != 0) return fail(env, fn, "offsets[0] must be 0");
  for (int64_t c = 0; c < nc; c++)
    if (off[c + 1] < off[c]) return fail(env, fn, "offsets must be non-decreasing");
  *nActions = off[nc];
  return 0;
}

static napi_value TiltAccumulate(napi_env env, napi_callback_info info) {
  const char *fn = "tiltAccumulate";
  napi_value a[MAX_ARGS];
  void *off, *w, *f, *lp, *z, *ex, *mean2;
  int64_t loff, lw, lf, llp, lz, lex, lmean, nc, d, na = 0;
  double s;
  if (get_args(env, info, fn, 10, a) || get_typed(env, fn, a[0], "offsets", napi_int32_array, &off, &loff) ||
      get_typed(env, fn, a[1], "weights", napi_float64_array, &w, &lw) ||
      get_typed(env, fn, a[2], "features", napi_float64_array, &f, &lf) ||
      get_typed(env, fn, a[3], "logp", napi_float64_array, &lp, &llp) ||
      get_typed(env, fn, a[4], "z", napi_float64_array, &z, &lz) ||
      get_typed(env, fn, a[5], "ex", napi_float64_array, &ex, &lex) ||
      get_int(env, fn, a[6], "nContexts", BLAS_MAX, &nc) || get_int(env, fn, a[7], "d", BLAS_MAX, &d) ||
      get_finite(env, fn, a[8], "s", &s) || get_typed(env, fn, a[9], "mean2", napi_float64_array, &mean2, &lmean) ||
      check_len(env, fn, "offsets", nc + 1, loff) || check_len(env, fn, "weights", nc, lw) ||
      check_len(env, fn, "mean2", d, lmean) || check_offsets(env, fn, (const int32_t *)off, nc, &na) ||
      check_len(env, fn, "logp", na, llp) || check_len(env, fn, "z", na, lz) || check_len(env, fn, "ex", na, lex) ||
      NEED_LEN(env, fn, "features", lf, na, d))
    return NULL;
  double kl = gshf_tilt_accumulate((const int32_t *)off, (const double *)w, (const double *)f, (const double *)lp,
                                   (const double *)z, (double *)ex, nc, d, s, (double *)mean2);
  napi_value out;
  napi_create_double(env, kl, &out);
  return out;
}

/* ---- tabular DPO training loop ---- */

static napi_value DpoTabularTrain(napi_env env, napi_callback_info info) {
  const char *fn = "dpoTabularTrain";
  napi_value a[MAX_ARGS];
  void *win, *lose, *rd, *p, *g, *m, *v, *lr, *c1, *c2;
  int64_t lwin, llose, lrd, lp, lg, lm, lv, llr, lc1, lc2, n, steps;
  double eta;
  int adam;
  if (get_args(env, info, fn, 13, a) || get_typed(env, fn, a[0], "win", napi_int32_array, &win, &lwin) ||
      get_typed(env, fn, a[1], "lose", napi_int32_array, &lose, &llose) ||
      get_typed(env, fn, a[2], "refDiff", napi_float64_array, &rd, &lrd) ||
      get_finite(env, fn, a[3], "eta", &eta) || get_typed(env, fn, a[4], "params", napi_float64_array, &p, &lp) ||
      get_typed(env, fn, a[5], "g", napi_float64_array, &g, &lg) ||
      get_typed(env, fn, a[6], "m", napi_float64_array, &m, &lm) ||
      get_typed(env, fn, a[7], "v", napi_float64_array, &v, &lv) ||
      get_int(env, fn, a[8], "steps", BLAS_MAX, &steps) ||
      get_typed(env, fn, a[9], "lr", napi_float64_array, &lr, &llr) ||
      get_typed(env, fn, a[10], "c1", napi_float64_array, &c1, &lc1) ||
      get_typed(env, fn, a[11], "c2", napi_float64_array, &c2, &lc2) || get_bool(env, fn, a[12], "adam", &adam))
    return NULL;
  n = lwin;
  if (check_len(env, fn, "lose", n, llose) || check_len(env, fn, "refDiff", n, lrd) ||
      check_len(env, fn, "g", lp, lg) || check_len(env, fn, "m", lp, lm) || check_len(env, fn, "v", lp, lv) ||
      check_len(env, fn, "lr", steps, llr) || (adam && (check_len(env, fn, "c1", steps, lc1) ||
                                                        check_len(env, fn, "c2", steps, lc2))))
    return NULL;
  for (int64_t i = 0; i < n; i++) {
    const int32_t w = ((const int32_t *)win)[i], l = ((const int32_t *)lose)[i];
    if (w < 0 || w >= lp || l < 0 || l >= lp) {
      fail(env, fn, "pair index out of range of params");
      return NULL;
    }
  }
  gshf_dpo_tabular_train((const int32_t *)win, (const int32_t *)lose, (const double *)rd, n, eta, (double *)p,
                         (double *)g, (double *)m, (double *)v, lp, steps, (const double *)lr, (const double *)c1,
                         (const double *)c2, adam);
  return NULL;
}

/* btGather(F, offsets, context, chosen, rejected, d, n, out): Δφ rows of n pairs into out (n·d), see
 * gshf_bt_gather. Returns −1, or the index of the first pair with an out-of-range context or action. */
static napi_value BtGather(napi_env env, napi_callback_info info) {
  const char *fn = "btGather";
  napi_value a[MAX_ARGS];
  void *F, *off, *ctx, *ch, *rj, *out;
  int64_t lF, lo, lc, lch, lrj, d, n, lout;
  if (get_args(env, info, fn, 8, a) || get_typed(env, fn, a[0], "features", napi_float64_array, &F, &lF) ||
      get_typed(env, fn, a[1], "offsets", napi_int32_array, &off, &lo) ||
      get_typed(env, fn, a[2], "context", napi_int32_array, &ctx, &lc) ||
      get_typed(env, fn, a[3], "chosen", napi_int32_array, &ch, &lch) ||
      get_typed(env, fn, a[4], "rejected", napi_int32_array, &rj, &lrj) ||
      get_int(env, fn, a[5], "d", 46340.0, &d) || get_int(env, fn, a[6], "n", MAX_SAFE, &n) ||
      get_typed(env, fn, a[7], "out", napi_float64_array, &out, &lout) || check_len(env, fn, "context", n, lc) ||
      check_len(env, fn, "chosen", n, lch) || check_len(env, fn, "rejected", n, lrj) ||
      NEED_LEN(env, fn, "out", lout, n, d))
    return NULL;
  if (d < 1 || lo < 1) {
    fail(env, fn, "need d >= 1 and at least one offset");
    return NULL;
  }
  int64_t bad = gshf_bt_gather((const double *)F, lF / d, d, (const int32_t *)off, lo - 1, (const int32_t *)ctx,
                               (const int32_t *)ch, (const int32_t *)rj, n, (double *)out);
  napi_value r;
  napi_create_double(env, (double)bad, &r);
  return r;
}

/* evalGibbs(F, offsets, ref, weights, theta, eta, rs, lps, ps, erS, klS, logpOut|null, out): the fused
 * evaluation of gshf_eval_gibbs; out (≥ 6) = [jHat, jStar, klRef, klStarRef, klStarToHat, rewardHat].
 * Returns −1, or the first context whose log-normaliser is not finite. */
static napi_value EvalGibbs(napi_env env, napi_callback_info info) {
  const char *fn = "evalGibbs";
  napi_value a[MAX_ARGS];
  void *F, *off, *ref, *w, *th, *rs, *lps, *ps, *erS, *klS, *lpo = NULL, *out;
  int64_t lF, lo, lref, lw, lth, lrs, llps, lps_, lerS, lklS, llpo = 0, lout;
  double eta;
  if (get_args(env, info, fn, 13, a) || get_typed(env, fn, a[0], "features", napi_float64_array, &F, &lF) ||
      get_typed(env, fn, a[1], "offsets", napi_int32_array, &off, &lo) ||
      get_typed(env, fn, a[2], "refLogprobs", napi_float64_array, &ref, &lref) ||
      get_typed(env, fn, a[3], "weights", napi_float64_array, &w, &lw) ||
      get_typed(env, fn, a[4], "theta", napi_float64_array, &th, &lth) ||
      get_finite(env, fn, a[5], "eta", &eta) || get_typed(env, fn, a[6], "rs", napi_float64_array, &rs, &lrs) ||
      get_typed(env, fn, a[7], "lps", napi_float64_array, &lps, &llps) ||
      get_typed(env, fn, a[8], "ps", napi_float64_array, &ps, &lps_) ||
      get_typed(env, fn, a[9], "erS", napi_float64_array, &erS, &lerS) ||
      get_typed(env, fn, a[10], "klS", napi_float64_array, &klS, &lklS) ||
      get_typed(env, fn, a[12], "out", napi_float64_array, &out, &lout) || check_len(env, fn, "out", 6, lout))
    return NULL;
  napi_valuetype tl;
  napi_typeof(env, a[11], &tl);
  if (tl != napi_null && get_typed(env, fn, a[11], "logpOut", napi_float64_array, &lpo, &llpo)) return NULL;
  const int32_t *o = (const int32_t *)off;
  if (lo < 1 || o[0] != 0) {
    fail(env, fn, "offsets must have at least one entry and start at 0");
    return NULL;
  }
  const int64_t C = lo - 1, d = lth;
  for (int64_t c = 0; c < C; c++)
    if (o[c + 1] < o[c]) {
      fail(env, fn, "offsets must be non-decreasing");
      return NULL;
    }
  const int64_t A = o[C];
  if (!(eta > 0) || d < 1) {
    fail(env, fn, "need eta > 0 and theta of length >= 1");
    return NULL;
  }
  if (NEED_LEN(env, fn, "features", lF, A, d) || check_len(env, fn, "refLogprobs", A, lref) ||
      check_len(env, fn, "rs", A, lrs) || check_len(env, fn, "lps", A, llps) || check_len(env, fn, "ps", A, lps_) ||
      check_len(env, fn, "weights", C, lw) || check_len(env, fn, "erS", C, lerS) ||
      check_len(env, fn, "klS", C, lklS) || (lpo && check_len(env, fn, "logpOut", A, llpo)))
    return NULL;
  gshf_eval_in in = {(const double *)F, (const double *)ref, (const double *)w, (const double *)th,
                     (const double *)rs, (const double *)lps, (const double *)ps, (const double *)erS,
                     (const double *)klS, o, C, d, eta, (double *)lpo, call_threads(env)};
  int64_t bad = gshf_eval_gibbs(&in, (double *)out);
  if (bad == -2) {
    fail_error(env, fn, "out of memory");
    return NULL;
  }
  napi_value r;
  napi_create_double(env, (double)bad, &r);
  return r;
}

/* ---- misc ---- */

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int64_t n;
  if (get_args(env, info, "setThreads", 1, a) || get_int(env, "setThreads", a[0], "n", 1024, &n)) return NULL;
  if (n < 1) {
    fail(env, "setThreads", "n must be >= 1");
    return NULL;
  }
  env_state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  if (st) st->threads = (int)n;
  call_threads(env);
  return NULL;
}

/* setGemmSingleThreadBelow(mnk): GEMMs with M·N·K < mnk run on one BLAS thread (0 = never). */
static napi_value SetGemmSingleThreadBelow(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int64_t v;
  if (get_args(env, info, "setGemmSingleThreadBelow", 1, a) ||
      get_int(env, "setGemmSingleThreadBelow", a[0], "mnk", MAX_SAFE, &v))
    return NULL;
  g_small_mnk = (double)v;
  return NULL;
}

/* The thread count a call from this environment runs with (1 while other environments are alive). */
static napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, call_threads(env), &r);
  return r;
}

static napi_value Describe(napi_env env, napi_callback_info info) {
  (void)info;
  char buf[512];
  const char *cfg = openblas_get_config();
  const char *core = openblas_get_corename();
  snprintf(buf, sizeof buf, "%s; core=%s; blas_threads=%d; single-thread gemm below M*N*K=%.0f; elementwise=%s",
           cfg ? cfg : "OpenBLAS", core ? core : "?", openblas_get_num_threads(), g_small_mnk, K->name);
  napi_value r;
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value SimdLevel(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, K->name, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* Instance-data finalizer: the environment (main thread or a worker) is gone. */
static void release_env(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
  atomic_fetch_sub(&g_envs, 1);
}

static napi_value Init(napi_env env, napi_value exports) {
  K = gshf_select_kernels();
  gshf_mle_init();
  env_state *st = (env_state *)malloc(sizeof *st);
  if (!st || napi_set_instance_data(env, st, release_env, NULL) != napi_ok) {
    free(st);
    fail_error(env, "init", "out of memory");
    return NULL;
  }
  st->threads = openblas_get_num_threads();
  if (atomic_fetch_add(&g_envs, 1) >= 1) set_blas_threads(1); /* a second environment: one thread each */
  napi_property_descriptor d[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"dgemm", NULL, Dgemm, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"dsyrk", NULL, Dsyrk, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"dsyrkWeighted", NULL, DsyrkWeighted, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"geluForward", NULL, GeluForward, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"geluBackward", NULL, GeluBackward, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"adamw", NULL, Adamw, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"layerNormForward", NULL, LayerNormForward, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"layerNormBackward", NULL, LayerNormBackward, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"softmaxCausal", NULL, SoftmaxCausal, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"attentionDecode", NULL, AttentionDecode, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable,
       NULL},
      {"lmLogProbs", NULL, LmLogProbs, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"lmLogitsBackward", NULL, LmLogitsBackward, NULL, NULL, NULL,
       napi_writable | napi_enumerable | napi_configurable, NULL},
      {"attentionForward", NULL, AttentionForward, NULL, NULL, NULL,
       napi_writable | napi_enumerable | napi_configurable, NULL},
      {"attentionBackward", NULL, AttentionBackward, NULL, NULL, NULL,
       napi_writable | napi_enumerable | napi_configurable, NULL},
      {"btNewton", NULL, BtNewton, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"dpoTabularTrain", NULL, DpoTabularTrain, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable,
       NULL},
      {"tiltAccumulate", NULL, TiltAccumulate, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable,
       NULL},
      {"btGather", NULL, BtGather, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"evalGibbs", NULL, EvalGibbs, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"btVec", NULL, BtVec, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"setBtThreadMinWork", NULL, SetBtThreadMinWork, NULL, NULL, NULL,
       napi_writable | napi_enumerable | napi_configurable, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"setGemmSingleThreadBelow", NULL, SetGemmSingleThreadBelow, NULL, NULL, NULL,
       napi_writable | napi_enumerable | napi_configurable, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"describe", NULL, Describe, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
      {"simdLevel", NULL, SimdLevel, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
