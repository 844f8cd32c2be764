#ifndef GSHF_KERNELS_H
#define GSHF_KERNELS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *name;
  void (*gelu_forward)(const float *x, float *y, size_t n);
  void (*gelu_backward)(const float *x, const float *dy, float *dx, size_t n);
  void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                float wd, float ibc1, float ibc2);
  void (*layernorm_forward)(const float *x, const float *w, const float *b, float *out, float *mean, float *rstd,
                            size_t rows, size_t cols, float eps);
  void (*layernorm_backward)(const float *dout, const float *x, const float *w, const float *mean,
                             const float *rstd, float *dx, float *dw, float *db, size_t rows, size_t cols);
  void (*softmax_causal)(float *att, size_t T, size_t blocks);
  void (*softmax_causal_rows)(float *blk, size_t T, size_t r0, size_t r1);
  void (*softmax_causal_backward_rows)(const float *p, float *d, size_t T, size_t r0, size_t r1);
  void (*lm_logprobs)(const float *logits, const int32_t *tokens, const float *mask, size_t T, size_t V, size_t b0,
                      size_t b1, float *lse, float *tokLp);
  void (*lm_logits_backward)(float *logits, const float *lse, const float *dlogp, const int32_t *tokens, size_t T,
                             size_t V, size_t r0, size_t r1);
  void (*attention_decode)(const float *q, size_t qStride, const float *k, const float *v, float *out,
                           const int32_t *slots, const int32_t *lens, size_t S, size_t NH, size_t hs, size_t blk,
                           float scale, float *scores);
} gshf_kernels;

/* Picks the AVX2+FMA variant when the CPU supports it, unless GSHF_NATIVE_SIMD=generic. */
const gshf_kernels *gshf_select_kernels(void);
#endif
