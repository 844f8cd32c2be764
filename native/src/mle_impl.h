/*
 * The fused pass of the native Bradley–Terry Newton solver (see mle.c), written as plain C loops that
 * GCC vectorises. Included twice by mle.c, like kernels_impl.h: once for baseline x86-64 (SSE2) and once
 * with __attribute__((target("avx2,fma"))). Before including, define KFN(name) and KATTR.
 *
 * exp and log1p are our own branch-free double-precision versions (no libm calls, so the row loop
 * vectorises, 4 rows per AVX2 instruction), each on the only range the solver needs:
 *   bt_exp_le0(x), x ≤ 0: Cody–Waite reduction x = k·ln2 + r, |r| ≤ ln2/2, then a degree-13 Taylor
 *     polynomial (truncation < 4e-18 relative) and exact scaling by 2^k. Inputs below −708 are clamped to
 *     −708 (the result 3.3e-308 instead of a subnormal: e^{−|z|} only enters σ and softplus as an
 *     additive term there, so nothing observable changes).
 *   bt_log1p_01(x), 0 ≤ x ≤ 1: u = 1 + x with its rounding error c = (x − (u − 1))/u carried separately,
 *     u = 2^k·m with m ∈ [√2/2, √2], and fdlibm's log kernel (s = f/(2+f), minimax in s², < 1 ulp) on m.
 * Measured over 2·10⁶ random inputs against V8's Math.exp / Math.log1p: exp ≤ 2 ulp (4.3e-16 relative),
 * log1p ≤ 1 ulp (2.2e-16); test/native/mle-native.test.ts asserts ≤ 4.5e-16 relative for both.
 */

static inline KATTR double KFN(bt_exp_le0)(double x) {
  x = x < -708.0 ? -708.0 : x;
  const double magic = 6755399441055744.0; /* 1.5·2^52: adding it rounds to an integer in the low bits */
  double t = x * 1.4426950408889634074 + magic;
  int64_t tb;
  memcpy(&tb, &t, sizeof tb);
  const double k = t - magic;
  double r = x - k * 6.93147180369123816490e-01;
  r = r - k * 1.90821492927058770002e-10;
  /* Degree-13 Taylor polynomial in Estrin form (depth 4 instead of 13 dependent FMAs). */
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double p01 = 1.0 + r, p23 = 0.5 + r * 1.6666666666666666667e-01;
  const double p45 = 4.1666666666666666667e-02 + r * 8.3333333333333333333e-03;
  const double p67 = 1.3888888888888888889e-03 + r * 1.9841269841269841270e-04;
  const double p89 = 2.4801587301587301587e-05 + r * 2.7557319223985890653e-06;
  const double p1011 = 2.7557319223985890653e-07 + r * 2.5052108385441718775e-08;
  const double p1213 = 2.0876756987868098979e-09 + r * 1.6059043836821614599e-10;
  const double q0 = p01 + r2 * p23, q1 = p45 + r2 * p67, q2 = p89 + r2 * p1011;
  const double s0 = q0 + r4 * q1, s1 = q2 + r4 * p1213;
  const double p = s0 + r8 * s1;
  /* tb − bits(magic) = k (|k| ≤ 1022 here), so 2^k has exponent bits k + 1023. */
  int64_t sb = (tb - (int64_t)0x4338000000000000LL + 1023) << 52;
  double s;
  memcpy(&s, &sb, sizeof s);
  return p * s;
}

/* log1p(x) for 0 ≤ x ≤ 1 given u = fl(1 + x) and invu ≈ 1/u (shared with the caller's σ = 1/(1 + e)). */
static inline KATTR double KFN(bt_log1p_u)(double x, double u, double invu) {
  const double c = (x - (u - 1.0)) * invu;
  const int big = u > 1.41421356237309504880;
  const double m = big ? 0.5 * u : u;
  const double k = big ? 1.0 : 0.0;
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s, w = z * z;
  const double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 =
      z * (6.666666666666735130e-01 +
           w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double R = t2 + t1;
  const double hfsq = 0.5 * f * f;
  return k * 6.93147180369123816490e-01 - ((hfsq - (s * (hfsq + R) + (k * 1.90821492927058770002e-10 + c))) - f);
}

static inline KATTR double KFN(bt_log1p_01)(double x) {
  const double u = 1.0 + x;
  return KFN(bt_log1p_u)(x, u, 1.0 / u);
}

/* Element-wise entry points for the accuracy test (out may alias x). */
static KATTR void KFN(bt_vexp)(const double *x, double *out, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) out[i] = KFN(bt_exp_le0)(x[i]);
}
static KATTR void KFN(bt_vlog1p)(const double *x, double *out, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) out[i] = KFN(bt_log1p_01)(x[i]);
}

/*
 * One fused pass over rows [r0, r1) of X (n×d row-major), accumulating into g (d), H (d×d, upper
 * triangle only) and *loss / *absLoss:
 *   z = x·θ, e = e^{−|z|}, softplus(−z) = log1p(e) + max(−z, 0), σ(−z) = (z ≥ 0 ? e : 1)/(1 + e),
 *   loss += cnt·softplus(−z) + neg·z,  g += (cnt·σ(−z) − neg)·x,  H += cnt·σ(z)σ(−z)·x xᵀ.
 * cnt = NULL means 1 per row and neg = 0 (neg must be non-NULL when cnt is). Rows are taken in blocks that stay in L1 between the margin,
 * transcendental and accumulation loops, so X is read from memory once per pass.
 * scratch: 3·BT_BLK + BT_BLK·d doubles (the last part only for d ≥ BT_SYRK_MIN_D).
 */
#ifndef BT_BLK
#define BT_BLK 2048
/* From this d on, the Hessian goes to dsyrk on blocks of BT_SYRK_ROWS(d) rows (≈ 256 KB of scaled rows),
 * except d = 32, which has its own tiled kernel (bt_hess32). */
#define BT_SYRK_MIN_D 16
#define BT_SYRK_ROWS(d) (32768 / (d))
#endif
/* One row's transcendental part (used inside the omp simd loops below; CNT and NEG are expressions). */
#define BT_ROW(CNT, NEG)                                                                 \
  do {                                                                                   \
    const double z = zb[r];                                                              \
    const double az = z < 0 ? -z : z;                                                    \
    const double e = KFN(bt_exp_le0)(-az);                                               \
    const double u1 = 1.0 + e;                                                           \
    const double inv = 1.0 / u1;                                                         \
    const double sn = (z >= 0 ? e : 1.0) * inv; /* σ(−z) */                              \
    const double sp = (z >= 0 ? 1.0 : e) * inv; /* σ(z) */                               \
    const double c = (CNT), q = (NEG);                                                   \
    const double term = c * (KFN(bt_log1p_u)(e, u1, inv) + (z < 0 ? -z : 0.0)) + q * z;  \
    l += term;                                                                           \
    la += term < 0 ? -term : term;                                                       \
    gc[r] = c * sn - q;                                                                  \
    wb[r] = c * sp * sn;                                                                 \
  } while (0)

/* d = 8: gradient and Hessian of one block with the accumulators in registers (GCC vector extensions:
 * one AVX2 register per 4 entries). Rows a = 0..3 of H are kept whole (b = 0..7) and rows 4..7 from
 * b = 4 on, which covers the upper triangle (the caller reads only b ≥ a): 12 broadcast FMAs per row. */
typedef double KFN(v4d) __attribute__((vector_size(32), aligned(8)));

/* x·t for d = 32 with four independent vector accumulators: an omp simd reduction keeps one, whose
 * 8 dependent FMAs per row cost more than the loads. */
static inline __attribute__((always_inline)) KATTR double KFN(dot32)(const double *restrict x,
                                                                    const double *restrict t) {
  typedef KFN(v4d) v4;
#define LD(p) (*(const v4 *)(p))
  v4 a0 = LD(x) * LD(t), a1 = LD(x + 4) * LD(t + 4), a2 = LD(x + 8) * LD(t + 8), a3 = LD(x + 12) * LD(t + 12);
  a0 += LD(x + 16) * LD(t + 16);
  a1 += LD(x + 20) * LD(t + 20);
  a2 += LD(x + 24) * LD(t + 24);
  a3 += LD(x + 28) * LD(t + 28);
#undef LD
  const v4 a = (a0 + a1) + (a2 + a3);
  return (a[0] + a[1]) + (a[2] + a[3]);
}
static inline __attribute__((always_inline)) KATTR void KFN(bt_acc8)(const double *restrict Xb, int64_t m,
                                                                    const double *restrict gc,
                                                                    const double *restrict wb, double *restrict g,
                                                                    double *restrict H) {
  typedef KFN(v4d) v4;
#define LD(p) (*(const v4 *)(p))
  /* The gradient first, in its own sweep over the (L1-resident) block: with it in the Hessian loop the
   * 14 accumulators plus the row spill out of the 16 registers. */
  v4 g0 = LD(g), g1 = LD(g + 4);
  for (int64_t r = 0; r < m; r++) {
    g0 += gc[r] * LD(Xb + 8 * r);
    g1 += gc[r] * LD(Xb + 8 * r + 4);
  }
  v4 h00 = LD(H), h01 = LD(H + 4), h10 = LD(H + 8), h11 = LD(H + 12), h20 = LD(H + 16), h21 = LD(H + 20);
  v4 h30 = LD(H + 24), h31 = LD(H + 28), h41 = LD(H + 36), h51 = LD(H + 44), h61 = LD(H + 52), h71 = LD(H + 60);
  for (int64_t r = 0; r < m; r++) {
    const double *x = Xb + 8 * r;
    const v4 xl = LD(x), xh = LD(x + 4);
    const double w = wb[r];
    /* w·x[a] as scalars: the broadcasts then come from memory (a load port), not lane shuffles. */
    h00 += (w * x[0]) * xl;
    h01 += (w * x[0]) * xh;
    h10 += (w * x[1]) * xl;
    h11 += (w * x[1]) * xh;
    h20 += (w * x[2]) * xl;
    h21 += (w * x[2]) * xh;
    h30 += (w * x[3]) * xl;
    h31 += (w * x[3]) * xh;
    h41 += (w * x[4]) * xh;
    h51 += (w * x[5]) * xh;
    h61 += (w * x[6]) * xh;
    h71 += (w * x[7]) * xh;
  }
#undef LD
#define ST(p, v) (*(v4 *)(p) = (v))
  ST(g, g0);
  ST(g + 4, g1);
  ST(H, h00);
  ST(H + 4, h01);
  ST(H + 8, h10);
  ST(H + 12, h11);
  ST(H + 16, h20);
  ST(H + 20, h21);
  ST(H + 24, h30);
  ST(H + 28, h31);
  ST(H + 36, h41);
  ST(H + 44, h51);
  ST(H + 52, h61);
  ST(H + 60, h71);
#undef ST
}

/* d = 32: H += Σ_r S_r·X_rᵀ (S = w·X, the block's rows scaled by their weights) over the upper triangle
 * in 4×8 tiles, each tile's 8 vector accumulators in registers for the whole block (OpenBLAS dsyrk on
 * such thin blocks measured at a third of this). Tiles straddling the diagonal also fill a few lower
 * entries, which the caller never reads. */
static inline __attribute__((always_inline)) KATTR void KFN(bt_hess32)(const double *restrict Xb,
                                                                      const double *restrict S, int64_t m,
                                                                      double *restrict H) {
  typedef KFN(v4d) v4;
  for (int a0 = 0; a0 < 32; a0 += 4) {
    for (int b0 = a0 & ~7; b0 < 32; b0 += 8) {
      double *h = H + a0 * 32 + b0;
      v4 c00 = *(v4 *)h, c01 = *(v4 *)(h + 4), c10 = *(v4 *)(h + 32), c11 = *(v4 *)(h + 36);
      v4 c20 = *(v4 *)(h + 64), c21 = *(v4 *)(h + 68), c30 = *(v4 *)(h + 96), c31 = *(v4 *)(h + 100);
      for (int64_t r = 0; r < m; r++) {
        const double *x = Xb + r * 32 + b0, *sr = S + r * 32 + a0;
        const v4 x0 = *(const v4 *)x, x1 = *(const v4 *)(x + 4);
        c00 += sr[0] * x0;
        c01 += sr[0] * x1;
        c10 += sr[1] * x0;
        c11 += sr[1] * x1;
        c20 += sr[2] * x0;
        c21 += sr[2] * x1;
        c30 += sr[3] * x0;
        c31 += sr[3] * x1;
      }
      *(v4 *)h = c00;
      *(v4 *)(h + 4) = c01;
      *(v4 *)(h + 32) = c10;
      *(v4 *)(h + 36) = c11;
      *(v4 *)(h + 64) = c20;
      *(v4 *)(h + 68) = c21;
      *(v4 *)(h + 96) = c30;
      *(v4 *)(h + 100) = c31;
    }
  }
}
static inline __attribute__((always_inline)) KATTR void KFN(bt_pass_body)(
    const double *restrict X, int64_t r0, int64_t r1, const int64_t d, const double *cnt, const double *neg,
    const double *restrict theta, double *restrict g, double *restrict H, double *loss, double *absLoss,
    double *restrict scratch) {
  double *zb = scratch, *gc = scratch + BT_BLK, *wb = scratch + 2 * BT_BLK, *S = scratch + 3 * BT_BLK;
  const int syrk = d >= BT_SYRK_MIN_D;
  /* d = 32 (own tiled kernel): 64-row blocks, so that X and S of a block stay in L1 across the tiles. */
  int64_t blk = d == 32 ? 64 : syrk ? BT_SYRK_ROWS(d) : 2048 / (d > 0 ? d : 1);
  blk = blk < 8 ? 8 : blk > BT_BLK ? BT_BLK : blk;
  double L = 0.0, A = 0.0;
  for (int64_t s0 = r0; s0 < r1; s0 += blk) {
    const int64_t m = r1 - s0 < blk ? r1 - s0 : blk;
    const double *Xb = X + s0 * d;
    for (int64_t r = 0; r < m; r++) {
      const double *x = Xb + r * d;
      if (d == 32) {
        zb[r] = KFN(dot32)(x, theta);
        continue;
      }
      double acc = 0.0;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < d; j++) acc += x[j] * theta[j];
      zb[r] = acc;
    }
    double l = 0.0, la = 0.0;
    if (cnt) {
      const double *cb = cnt + s0, *nb = neg + s0;
#pragma omp simd reduction(+ : l, la)
      for (int64_t r = 0; r < m; r++) BT_ROW(cb[r], nb[r]);
    } else {
#pragma omp simd reduction(+ : l, la)
      for (int64_t r = 0; r < m; r++) BT_ROW(1.0, 0.0);
    }
    L += l;
    A += la;
    if (d == 32) {
      for (int64_t r = 0; r < m; r++) {
        const double *x0 = Xb + r * d;
        const double g0 = gc[r], w0 = wb[r];
        double *sr = S + r * d;
#pragma omp simd
        for (int64_t j = 0; j < d; j++) {
          g[j] += g0 * x0[j];
          sr[j] = w0 * x0[j];
        }
      }
      KFN(bt_hess32)(Xb, S, m, H);
      continue;
    }
    if (syrk) {
      /* Larger d: the gradient here, the Hessian by OpenBLAS dsyrk on the √w-scaled block (w ≥ 0). */
      for (int64_t r = 0; r < m; r++) {
        const double *x0 = Xb + r * d;
        const double g0 = gc[r], f = sqrt(wb[r]);
        double *sr = S + r * d;
#pragma omp simd
        for (int64_t j = 0; j < d; j++) {
          g[j] += g0 * x0[j];
          sr[j] = f * x0[j];
        }
      }
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0, S, (int)d, 1.0, H, (int)d);
      continue;
    }
    if (d == 8) {
      KFN(bt_acc8)(Xb, m, gc, wb, g, H);
      continue;
    }
    /* Four rows per sweep over g and H: each accumulator is loaded and stored once per four products. */
    int64_t r = 0;
    for (; r + 4 <= m; r += 4) {
      const double *x0 = Xb + r * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
      const double g0 = gc[r], g1 = gc[r + 1], g2 = gc[r + 2], g3 = gc[r + 3];
#pragma omp simd
      for (int64_t j = 0; j < d; j++) g[j] += g0 * x0[j] + g1 * x1[j] + (g2 * x2[j] + g3 * x3[j]);
      const double w0 = wb[r], w1 = wb[r + 1], w2 = wb[r + 2], w3 = wb[r + 3];
      for (int64_t a = 0; a < d; a++) {
        const double c0 = w0 * x0[a], c1 = w1 * x1[a], c2 = w2 * x2[a], c3 = w3 * x3[a];
        double *Ha = H + a * d;
#pragma omp simd
        for (int64_t b = a; b < d; b++) Ha[b] += c0 * x0[b] + c1 * x1[b] + (c2 * x2[b] + c3 * x3[b]);
      }
    }
    for (; r < m; r++) {
      const double *x0 = Xb + r * d;
      const double g0 = gc[r], w0 = wb[r];
#pragma omp simd
      for (int64_t j = 0; j < d; j++) g[j] += g0 * x0[j];
      for (int64_t a = 0; a < d; a++) {
        const double c0 = w0 * x0[a];
        double *Ha = H + a * d;
#pragma omp simd
        for (int64_t b = a; b < d; b++) Ha[b] += c0 * x0[b];
      }
    }
  }
  *loss = L;
  *absLoss = A;
}

/* bt_pass_body with d a compile-time constant for small d (loops fully unrolled), else generic. */
static KATTR void KFN(bt_pass)(const double *restrict X, int64_t r0, int64_t r1, int64_t d, const double *cnt,
                               const double *neg, const double *restrict theta, double *restrict g,
                               double *restrict H, double *loss, double *absLoss, double *restrict scratch) {
#define BT_CASE(D)                                                                       \
  case D:                                                                                \
    KFN(bt_pass_body)(X, r0, r1, D, cnt, neg, theta, g, H, loss, absLoss, scratch);      \
    return;
  switch (d) {
    BT_CASE(1)
    BT_CASE(2)
    BT_CASE(3)
    BT_CASE(4)
    BT_CASE(5)
    BT_CASE(6)
    BT_CASE(7)
    BT_CASE(8)
    BT_CASE(12)
    BT_CASE(16)
    BT_CASE(32)
    default:
      KFN(bt_pass_body)(X, r0, r1, d, cnt, neg, theta, g, H, loss, absLoss, scratch);
  }
#undef BT_CASE
}
#undef BT_ROW
