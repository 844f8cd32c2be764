#ifndef GSHF_PARALLEL_H
#define GSHF_PARALLEL_H
#include <stddef.h>

/* fn(ctx, i0, i1) over [0, n) cut into `threads` contiguous ranges, one per OS thread (the caller
 * runs the first). Runs on the calling thread alone when n < 2·min_per_thread, threads ≤ 1, or a
 * thread cannot be started. For element-wise kernels, whose result does not depend on the split. */
typedef void (*gshf_range_fn)(void *ctx, size_t i0, size_t i1);
void gshf_parallel_range(size_t n, size_t min_per_thread, int threads, gshf_range_fn fn, void *ctx);
#endif
