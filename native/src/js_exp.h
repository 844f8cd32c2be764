/*
 * exp(x) exactly as V8's Math.exp computes it (fdlibm's __ieee754_exp as ported in V8's
 * src/base/ieee754.cc, including its exp(1) = e special case), so native loops that must reproduce a
 * TypeScript loop bit for bit can use it instead of libm's exp (which differs in the last ulp on a
 * small fraction of inputs). Checked against Math.exp on 3e6 random arguments in [-750, 750].
 * Needs a target without FMA contraction (plain x86-64), like the rest of these files.
 */
#ifndef GSHF_JS_EXP_H
#define GSHF_JS_EXP_H
#include <stdint.h>
#include <string.h>
static inline double gshf_js_exp(double x) {
  static const double one = 1.0, halF[2] = {0.5, -0.5}, o_threshold = 7.09782712893383973096e+02,
                      u_threshold = -7.45133219101941108420e+02,
                      ln2HI[2] = {6.93147180369123816490e-01, -6.93147180369123816490e-01},
                      ln2LO[2] = {1.90821492927058770002e-10, -1.90821492927058770002e-10},
                      invln2 = 1.44269504088896338700e+00, P1 = 1.66666666666666019037e-01,
                      P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
                      P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08,
                      E = 2.718281828459045, twom1000 = 9.33263618503218878990e-302, huge = 1.0e+300;
  double y, hi = 0.0, lo = 0.0, c, t, twopk;
  int32_t k = 0, xsb;
  uint64_t bits;
  memcpy(&bits, &x, 8);
  uint32_t hx = (uint32_t)(bits >> 32);
  xsb = (hx >> 31) & 1;
  hx &= 0x7fffffff;
  if (hx >= 0x40862E42) {
    if (hx >= 0x7ff00000) {
      uint32_t lx = (uint32_t)bits;
      if (((hx & 0xfffff) | lx) != 0) return x + x;
      return (xsb == 0) ? x : 0.0;
    }
    if (x > o_threshold) return huge * huge;
    if (x < u_threshold) return twom1000 * twom1000;
  }
  if (x == 1.0) return E;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      hi = x - ln2HI[xsb];
      lo = ln2LO[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = (int32_t)(invln2 * x + halF[xsb]);
      t = k;
      hi = x - t * ln2HI[0];
      lo = t * ln2LO[0];
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (huge + x > one) return one + x;
  } else {
    k = 0;
  }
  t = x * x;
  uint64_t tb;
  if (k >= -1021)
    tb = (uint64_t)(uint32_t)(0x3ff00000 + (k << 20)) << 32;
  else
    tb = (uint64_t)(uint32_t)(0x3ff00000 + ((k + 1000) << 20)) << 32;
  memcpy(&twopk, &tb, 8);
  c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return one - ((x * c) / (c - 2.0) - x);
  y = one - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * 0x1p1023;
    return y * twopk;
  }
  return y * twopk * twom1000;
}
#endif
