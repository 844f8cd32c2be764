#include "kernels.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Baseline x86-64 (SSE2) variant. */
#define KFN(name) name##_generic
#define KATTR
#include "kernels_impl.h"
#undef KFN
#undef KATTR

#if defined(__x86_64__) && defined(__GNUC__)
#define GSHF_HAVE_AVX2_VARIANT 1
/* AVX2 + FMA variant (x86-64-v3 without assuming AVX-512); only called after a runtime CPU check. */
#define KFN(name) name##_avx2
#define KATTR __attribute__((target("avx2,fma")))
#include "kernels_impl.h"
#undef KFN
#undef KATTR
#endif

static const gshf_kernels k_generic = {"generic", gelu_forward_generic, gelu_backward_generic, adamw_generic,
                                       layernorm_forward_generic, layernorm_backward_generic,
                                       softmax_causal_generic,     softmax_causal_rows_generic,
                                       softmax_causal_backward_rows_generic, lm_logprobs_generic,
                                       lm_logits_backward_generic,           attention_decode_generic};
#ifdef GSHF_HAVE_AVX2_VARIANT
static const gshf_kernels k_avx2 = {"avx2+fma", gelu_forward_avx2, gelu_backward_avx2, adamw_avx2,
                                    layernorm_forward_avx2, layernorm_backward_avx2,
                                    softmax_causal_avx2,     softmax_causal_rows_avx2,
                                    softmax_causal_backward_rows_avx2, lm_logprobs_avx2,
                                    lm_logits_backward_avx2,           attention_decode_avx2};
#endif

const gshf_kernels *gshf_select_kernels(void) {
  const char *force = getenv("GSHF_NATIVE_SIMD");
  if (force && strcmp(force, "generic") == 0) return &k_generic;
#ifdef GSHF_HAVE_AVX2_VARIANT
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &k_avx2;
#endif
  return &k_generic;
}
