/* A fork/join over contiguous index ranges (see parallel.h). Threads are created per call: on the
 * element-wise kernels this is used for (≥ 2^16 elements, ≥ 100 µs of work) the ~30 µs of
 * pthread_create/join is small, and nothing stays resident to compete with OpenBLAS's own threads. */
#include "parallel.h"

#include <pthread.h>

#define GSHF_PAR_MAX_THREADS 8

typedef struct {
  gshf_range_fn fn;
  void *ctx;
  size_t i0, i1;
} range_job;

static void *run_range(void *arg) {
  range_job *j = (range_job *)arg;
  j->fn(j->ctx, j->i0, j->i1);
  return NULL;
}

void gshf_parallel_range(size_t n, size_t min_per_thread, int threads, gshf_range_fn fn, void *ctx) {
  if (threads > GSHF_PAR_MAX_THREADS) threads = GSHF_PAR_MAX_THREADS;
  if (min_per_thread < 1) min_per_thread = 1;
  if (threads > 1 && n / min_per_thread < (size_t)threads) threads = (int)(n / min_per_thread);
  if (threads <= 1) {
    fn(ctx, 0, n);
    return;
  }
  range_job jobs[GSHF_PAR_MAX_THREADS];
  pthread_t tids[GSHF_PAR_MAX_THREADS];
  int started[GSHF_PAR_MAX_THREADS] = {0};
  for (int t = 0; t < threads; t++) {
    jobs[t] = (range_job){fn, ctx, n * (size_t)t / (size_t)threads, n * (size_t)(t + 1) / (size_t)threads};
  }
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tids[t], NULL, run_range, &jobs[t]) == 0;
  fn(ctx, jobs[0].i0, jobs[0].i1);
  for (int t = 1; t < threads; t++) {
    if (started[t])
      pthread_join(tids[t], NULL);
    else
      fn(ctx, jobs[t].i0, jobs[t].i1); /* could not start a thread: do its range here */
  }
}
