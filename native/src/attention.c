/*
 * Causal self-attention for a whole layer (training and scoring), forward and backward.
 *
 * Layout (as src/nn/model.ts): qkv is [B·T, 3C] with q | k | v per row and C = NH·hs; the
 * probabilities att are [B·NH, T, T]; y and dy are [B·T, C] (head h at columns h·hs ..).
 *
 * Each (b, h) is one task: its GEMMs run on one BLAS thread, and the tasks are shared by up to
 * `threads` OS threads (a counter hands them out). On 2 cores this uses both cores for the small
 * T×T×hs products, which OpenBLAS would run one at a time on one thread.
 *
 * Causal blocking: the rows are cut into `nb` blocks; row block [r0, r1) only needs keys [0, r1),
 * so the score, value, dQ, dK and dV products skip most of the upper triangle (with 4 blocks they
 * do 10/16 of the dense work). Entries above the diagonal are exactly 0 in att, and the backward
 * zeroes them in its scratch before they are read, so the result equals the dense computation up
 * to the order of float32 additions.
 */
#include "attention.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

void openblas_set_num_threads(int num_threads);

typedef struct {
  const gshf_kernels *K;
  const float *qkv;
  float *att; /* forward: written; backward: read */
  float *y;   /* forward output */
  const float *dy;
  float *dqkv; /* backward output (dq | dk | dv, overwritten) */
  size_t B, T, NH, hs;
  float scale;
  size_t nb;
  int backward;
  int next; /* next task index (atomic) */
  int failed;
} attn_job;

/* Row r of block s of nb blocks over T rows. */
static size_t edge(size_t s, size_t nb, size_t T) { return s * T / nb; }

/* One (b, h) forward: scores, causal softmax, values, block by block. */
static void forward_task(const attn_job *j, size_t task) {
  const size_t b = task / j->NH, h = task % j->NH;
  const size_t T = j->T, C = j->NH * j->hs, C3 = 3 * C, hs = j->hs;
  const float *q = j->qkv + b * T * C3 + h * hs; /* [T, hs] with stride C3 */
  const float *k = q + C;
  const float *v = q + 2 * C;
  float *A = j->att + task * T * T; /* [T, T] */
  float *Y = j->y + b * T * C + h * hs;
  for (size_t s = 0; s < j->nb; s++) {
    const size_t r0 = edge(s, j->nb, T), r1 = edge(s + 1, j->nb, T), m = r1 - r0;
    if (m == 0) continue;
    /* A[r0:r1, 0:r1] = scale · Q[r0:r1] · K[0:r1]ᵀ */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)r1, (int)hs, j->scale, q + r0 * C3, (int)C3, k,
                (int)C3, 0.0f, A + r0 * T, (int)T);
    j->K->softmax_causal_rows(A, T, r0, r1);
    /* Y[r0:r1] = A[r0:r1, 0:r1] · V[0:r1] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)hs, (int)r1, 1.0f, A + r0 * T, (int)T, v,
                (int)C3, 0.0f, Y + r0 * C, (int)C);
  }
}

/* One (b, h) backward; D is T×T scratch for dL/d(scores). */
static void backward_task(const attn_job *j, size_t task, float *D) {
  const size_t b = task / j->NH, h = task % j->NH;
  const size_t T = j->T, C = j->NH * j->hs, C3 = 3 * C, hs = j->hs;
  const float *q = j->qkv + b * T * C3 + h * hs;
  const float *k = q + C;
  const float *v = q + 2 * C;
  const float *A = j->att + task * T * T;
  const float *dY = j->dy + b * T * C + h * hs;
  float *dq = j->dqkv + b * T * C3 + h * hs;
  float *dk = dq + C;
  float *dv = dq + 2 * C;
  /* phase 1, by query block: D = dY·Vᵀ, softmax backward, dQ = scale·D·K */
  for (size_t s = 0; s < j->nb; s++) {
    const size_t r0 = edge(s, j->nb, T), r1 = edge(s + 1, j->nb, T), m = r1 - r0;
    if (m == 0) continue;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)r1, (int)hs, 1.0f, dY + r0 * C, (int)C, v,
                (int)C3, 0.0f, D + r0 * T, (int)T);
    j->K->softmax_causal_backward_rows(A, D, T, r0, r1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)hs, (int)r1, j->scale, D + r0 * T, (int)T, k,
                (int)C3, 0.0f, dq + r0 * C3, (int)C3);
  }
  /* phase 2, by key block [c0, c1): only query rows t ≥ c0 attend to it */
  for (size_t s = 0; s < j->nb; s++) {
    const size_t c0 = edge(s, j->nb, T), c1 = edge(s + 1, j->nb, T), m = c1 - c0, n = T - c0;
    if (m == 0) continue;
    /* dV[c0:c1] = A[c0:T, c0:c1]ᵀ · dY[c0:T] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)hs, (int)n, 1.0f, A + c0 * T + c0, (int)T,
                dY + c0 * C, (int)C, 0.0f, dv + c0 * C3, (int)C3);
    /* dK[c0:c1] = scale · D[c0:T, c0:c1]ᵀ · Q[c0:T] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)hs, (int)n, j->scale, D + c0 * T + c0, (int)T,
                q + c0 * C3, (int)C3, 0.0f, dk + c0 * C3, (int)C3);
  }
}

static void *run_tasks(void *arg) {
  attn_job *j = (attn_job *)arg;
  const size_t total = j->B * j->NH;
  float *D = NULL;
  if (j->backward) {
    D = (float *)malloc(j->T * j->T * sizeof(float));
    if (!D) {
      __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
      return NULL;
    }
  }
  for (;;) {
    const size_t task = (size_t)__atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (task >= total) break;
    if (j->backward)
      backward_task(j, task, D);
    else
      forward_task(j, task);
  }
  free(D);
  return NULL;
}

/* Runs the job on `threads` threads (this one included); BLAS runs single-threaded meanwhile and
 * is set back to `blas_threads` afterwards. Returns 0, or -1 when scratch memory ran out. */
static int run_job(attn_job *j, int threads, int blas_threads) {
  const size_t total = j->B * j->NH;
  if (threads > (int)total) threads = (int)total;
  if (threads > GSHF_ATTN_MAX_THREADS) threads = GSHF_ATTN_MAX_THREADS;
  if (blas_threads > 1) openblas_set_num_threads(1);
  pthread_t tids[GSHF_ATTN_MAX_THREADS];
  int started = 0;
  for (int t = 1; t < threads; t++)
    if (pthread_create(&tids[started], NULL, run_tasks, j) == 0) started++;
  run_tasks(j); /* the calling thread works too; if no thread started it does everything */
  for (int t = 0; t < started; t++) pthread_join(tids[t], NULL);
  if (blas_threads > 1) openblas_set_num_threads(blas_threads);
  return j->failed ? -1 : 0;
}

static size_t blocks_for(size_t T) { return T >= 64 ? 4 : T >= 16 ? 2 : 1; }

int gshf_attention_forward(const gshf_kernels *K, const float *qkv, float *att, float *y, size_t B, size_t T,
                           size_t NH, size_t hs, float scale, int threads, int blas_threads) {
  attn_job j = {K, qkv, att, y, NULL, NULL, B, T, NH, hs, scale, blocks_for(T), 0, 0, 0};
  return run_job(&j, threads, blas_threads);
}

int gshf_attention_backward(const gshf_kernels *K, const float *qkv, const float *att, const float *dy, float *dqkv,
                            size_t B, size_t T, size_t NH, size_t hs, float scale, int threads, int blas_threads) {
  attn_job j = {K, qkv, (float *)att, NULL, dy, dqkv, B, T, NH, hs, scale, blocks_for(T), 1, 0, 0};
  return run_job(&j, threads, blas_threads);
}
