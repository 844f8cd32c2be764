/*
 * The fused exact evaluation of a Gibbs policy (src/bandit/policy.ts evaluateGibbsExact) over a range of
 * contexts, included by mle.c after mle_impl.h (it reuses KFN(bt_exp_le0)), once generic and once AVX2.
 * Same formulas and the same p = 0 / log p = −∞ conventions as the TS loop; only the summation order of
 * the dot products and per-context sums differs (rounding only).
 */

/* F·θ for rows [0, m) of F (row-major, d columns), as ref + (F·θ)/η into lh. */
static inline __attribute__((always_inline)) KATTR void KFN(ev_logits_body)(const double *restrict F, int64_t m,
                                                                           const int64_t d,
                                                                           const double *restrict theta,
                                                                           const double *restrict ref, double eta,
                                                                           double *restrict lh) {
  for (int64_t k = 0; k < m; k++) {
    const double *x = F + k * d;
    if (d == 32) {
      lh[k] = ref[k] + KFN(dot32)(x, theta) / eta;
      continue;
    }
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < d; j++) acc += x[j] * theta[j];
    lh[k] = ref[k] + acc / eta;
  }
}

static KATTR void KFN(ev_logits)(const double *restrict F, int64_t m, int64_t d, const double *restrict theta,
                                 const double *restrict ref, double eta, double *restrict lh) {
#define EV_CASE(D)                                                \
  case D:                                                         \
    KFN(ev_logits_body)(F, m, D, theta, ref, eta, lh);            \
    return;
  switch (d) {
    EV_CASE(2)
    EV_CASE(4)
    EV_CASE(8)
    EV_CASE(16)
    EV_CASE(32)
    EV_CASE(64)
    default:
      KFN(ev_logits_body)(F, m, d, theta, ref, eta, lh);
  }
#undef EV_CASE
}

/* Contexts [c0, c1): see gshf_eval_part in mle.h. Returns −1, or the first context whose
 * log-normaliser is not finite. */
static KATTR int64_t KFN(ev_range)(const gshf_eval_in *in, int64_t c0, int64_t c1, double *restrict lh,
                                   double *restrict eh, double acc[6]) {
  const int32_t *off = in->off;
  const double eta = in->eta;
  double jHat = 0, jStar = 0, klRef = 0, klStarRef = 0, klSH_ = 0, rewardHat = 0;
  for (int64_t c = c0; c < c1; c++) {
    const int64_t s = off[c], len = off[c + 1] - s;
    const double *ref = in->ref + s;
    KFN(ev_logits)(in->F + s * in->d, len, in->d, in->theta, ref, eta, lh);
    double mh = -INFINITY;
    for (int64_t k = 0; k < len; k++) mh = lh[k] > mh ? lh[k] : mh;
    if (!isfinite(mh)) return c;
    double sh = 0.0, xmin = 0.0;
#pragma omp simd reduction(+ : sh) reduction(min : xmin)
    for (int64_t k = 0; k < len; k++) {
      const double x = lh[k] - mh;
      const double e = KFN(bt_exp_le0)(x);
      eh[k] = e;
      sh += e;
      xmin = x < xmin ? x : xmin;
    }
    if (!(xmin > -708.0)) {
      /* Rare: underflow, −∞ (π0 = 0) or NaN. libm's exp there, as fastExp defers to Math.exp. */
      sh = 0.0;
      for (int64_t k = 0; k < len; k++) {
        const double x = lh[k] - mh;
        if (!(x > -708.0)) eh[k] = exp(x);
        sh += eh[k];
      }
    }
    const double zh = mh + log(sh), ih = 1.0 / sh;
    if (in->logpOut)
      for (int64_t k = 0; k < len; k++) in->logpOut[s + k] = lh[k] - zh;
    const double *rs = in->rs + s, *lps = in->lps + s, *ps = in->ps + s;
    double erH = 0.0, klH = 0.0, klSH = 0.0;
#pragma omp simd reduction(+ : erH, klH, klSH)
    for (int64_t k = 0; k < len; k++) {
      const double lph = lh[k] - zh, ph = eh[k] * ih, lp = lps[k];
      erH += (ph > 0 && lph > -INFINITY) ? ph * rs[k] : 0.0;
      klH += lph != -INFINITY ? ph * (lph - ref[k]) : 0.0;
      klSH += lp != -INFINITY ? ps[k] * (lp - lph) : 0.0;
    }
    /* EvalAccumulator.add: KL per context clamped at 0, zero-weight contexts skipped in the means. */
    const double w = in->w[c];
    const double erS = in->erS[c];
    double klS = in->klS[c];
    klH = klH < 0 ? 0 : klH;
    klS = klS < 0 ? 0 : klS;
    klSH = klSH < 0 ? 0 : klSH;
    jHat += w * (erH - eta * klH);
    jStar += w * (erS - eta * klS);
    if (w != 0) {
      klRef += w * klH;
      klStarRef += w * klS;
      klSH_ += w * klSH;
      rewardHat += w * erH;
    }
  }
  acc[0] = jHat;
  acc[1] = jStar;
  acc[2] = klRef;
  acc[3] = klStarRef;
  acc[4] = klSH_;
  acc[5] = rewardHat;
  return -1;
}
