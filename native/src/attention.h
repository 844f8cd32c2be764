#ifndef GSHF_ATTENTION_H
#define GSHF_ATTENTION_H
#include <stddef.h>

#include "kernels.h"

#define GSHF_ATTN_MAX_THREADS 8

/* Causal attention of one layer for all B·NH (batch, head) pairs (layout in attention.c):
 * att[(b·NH+h)] = causal_softmax(scale·Q·Kᵀ), y = att·V. Returns 0, or -1 when out of memory. */
int gshf_attention_forward(const gshf_kernels *K, const float *qkv, float *att, float *y, size_t B, size_t T,
                           size_t NH, size_t hs, float scale, int threads, int blas_threads);

/* Backward of gshf_attention_forward given dy: overwrites the q, k and v columns of dqkv. */
int gshf_attention_backward(const gshf_kernels *K, const float *qkv, const float *att, const float *dy, float *dqkv,
                            size_t B, size_t T, size_t NH, size_t hs, float scale, int threads, int blas_threads);
#endif
