/* Exponential-tilt evaluation for the bandit's uncertainty enhancer (see src/bandit/algorithms/tilt-evaluator.ts). */
#ifndef GSHF_TILT_H
#define GSHF_TILT_H
#include <stdint.h>

/*
 * For π'(a|x) ∝ π1(a|x)·exp(s·z[a]) over the contexts c < nc (actions off[c]..off[c+1]−1):
 * mean2[j] += Σ_c W[c] Σ_a π'(a|x_c) F[a·d + j], returns Σ_c W[c]·max(0, KL(π'‖π1)_c).
 * ex (one slot per action) is scratch. The arithmetic mirrors TiltEvaluator's TypeScript loop
 * term for term (same order of additions), so the two agree up to the last-ulp differences of exp/log.
 */
double gshf_tilt_accumulate(const int32_t *off, const double *W, const double *F, const double *logp,
                            const double *z, double *ex, int64_t nc, int64_t d, double s, double *mean2);
#endif
