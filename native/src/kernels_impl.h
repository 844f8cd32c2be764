/*
 * Element-wise float32 kernels, written as plain C loops that GCC auto-vectorises.
 * This header is included twice by kernels.c: once for the baseline x86-64 target (SSE2) and
 * once with __attribute__((target("avx2,fma"))). Before including, define:
 *   KFN(name)  -> the suffixed function name
 *   KATTR      -> the function attribute (target + always_inline helpers)
 * No -ffast-math: reductions use `#pragma omp simd reduction` (-fopenmp-simd), and the exp
 * rounding trick below depends on IEEE semantics.
 */

/* exp(x) for x <= 0 (clamped at -87.3 so 2^k stays a normal float); ~1-2 ulp (Cephes polynomial).
 * Only a lower clamp: with two clamps GCC if-converts by evaluating the tail of the caller for both
 * constant cases, which doubled the divisions in GELU (measured 3.4x slower). */
static inline KATTR float KFN(expneg)(float x) {
  x = x < -87.3f ? -87.3f : x;
  const float magic = 12582912.0f; /* 1.5·2^23: adding and subtracting rounds to nearest integer */
  float k = (x * 1.44269504088896341f + magic) - magic;
  float r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } s;
  s.i = ((int32_t)k + 127) << 23;
  return p * s.f;
}

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

/* gelu_tanh(x) = 0.5·x·(1 + tanh(u)) = x·sigmoid(2u), u = c·(x + a·x³).
 * With e = exp(−2|u|) ∈ (0, 1]: sigmoid(2u) = 1/(1+e) for u ≥ 0 and e/(1+e) for u < 0, so exp never
 * overflows and there is no cancellation in either tail. */
static KATTR void KFN(gelu_forward)(const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float xi = x[i];
    float u = GELU_C * (xi + GELU_A * xi * xi * xi);
    float e = KFN(expneg)(-2.0f * fabsf(u));
    float num = u >= 0.0f ? xi : xi * e;
    y[i] = num / (1.0f + e);
  }
}

/* d/dx = s + 2·x·s·(1−s)·u' with s = sigmoid(2u), s·(1−s) = e/(1+e)², u' = c·(1 + 3a·x²). Accumulates. */
static KATTR void KFN(gelu_backward)(const float *x, const float *dy, float *dx, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float xi = x[i];
    float x2 = xi * xi;
    float u = GELU_C * (xi + GELU_A * x2 * xi);
    float e = KFN(expneg)(-2.0f * fabsf(u));
    float inv = 1.0f / (1.0f + e);
    float s = (u >= 0.0f ? 1.0f : e) * inv;
    float sos = e * inv * inv;
    float du = GELU_C * (1.0f + 3.0f * GELU_A * x2);
    float g = s + 2.0f * xi * sos * du;
    dx[i] += g * dy[i];
  }
}

static KATTR void KFN(adamw)(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                             size_t n, float lr, float b1, float b2, float eps, float wd, float ibc1, float ibc2) {
  const float omb1 = 1.0f - b1, omb2 = 1.0f - b2;
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = b1 * m[i] + omb1 * gi;
    float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float mhat = mi * ibc1;
    float vhat = vi * ibc2;
    float pi = p[i];
    p[i] = pi - lr * (mhat / (sqrtf(vhat) + eps) + wd * pi);
  }
}

static KATTR void KFN(layernorm_forward)(const float *restrict x, const float *restrict w, const float *restrict b,
                                         float *restrict out, float *restrict mean, float *restrict rstd,
                                         size_t rows, size_t cols, float eps) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *o = out + r * cols;
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < cols; i++) s += (double)xr[i];
    const double mu = s / (double)cols;
    double ss = 0.0;
#pragma omp simd reduction(+ : ss)
    for (size_t i = 0; i < cols; i++) {
      double d = (double)xr[i] - mu;
      ss += d * d;
    }
    const float rs = (float)(1.0 / sqrt(ss / (double)cols + (double)eps));
    const float m = (float)mu;
    for (size_t i = 0; i < cols; i++) o[i] = (xr[i] - m) * rs * w[i] + b[i];
    mean[r] = m;
    rstd[r] = rs;
  }
}

/* llm.c layernorm_backward: accumulates into dx, dw, db. */
static KATTR void KFN(layernorm_backward)(const float *restrict dout, const float *restrict x, const float *restrict w,
                                          const float *restrict mean, const float *restrict rstd, float *restrict dx,
                                          float *restrict dw, float *restrict db, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    const float *dr = dout + r * cols;
    const float *xr = x + r * cols;
    float *dxr = dx + r * cols;
    const float m = mean[r], rs = rstd[r];
    double a = 0.0, c = 0.0;
#pragma omp simd reduction(+ : a, c)
    for (size_t i = 0; i < cols; i++) {
      float norm = (xr[i] - m) * rs;
      float dn = w[i] * dr[i];
      a += (double)dn;
      c += (double)(dn * norm);
    }
    const float dmean = (float)(a / (double)cols);
    const float dnm = (float)(c / (double)cols);
    for (size_t i = 0; i < cols; i++) {
      float norm = (xr[i] - m) * rs;
      float d = dr[i];
      db[i] += d;
      dw[i] += norm * d;
      dxr[i] += (w[i] * d - dmean - norm * dnm) * rs;
    }
  }
}

/* Rows r0..r1−1 of one T×T causal block (row-major, leading dimension T): row t becomes
 * softmax(row[0..t]) and row[t+1..T) is set to 0. Same arithmetic as softmax_causal, per row. */
static KATTR void KFN(softmax_causal_rows)(float *blk, size_t T, size_t r0, size_t r1) {
  for (size_t t = r0; t < r1; t++) {
    float *row = blk + t * T;
    const size_t n = t + 1;
    float mx = row[0];
#pragma omp simd reduction(max : mx)
    for (size_t j = 0; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < n; j++) {
      float e = KFN(expneg)(row[j] - mx);
      row[j] = e;
      s += e;
    }
    const float inv = 1.0f / s;
    for (size_t j = 0; j < n; j++) row[j] *= inv;
    for (size_t j = n; j < T; j++) row[j] = 0.0f;
  }
}

/* Causal softmax backward for rows r0..r1−1 of one T×T block, in place on the upstream gradient d:
 * d[t,j] = p[t,j]·(d[t,j] − Σ_{i≤t} p[t,i]·d[t,i]) for j ≤ t, and 0 for t < j < r1 (the columns a
 * caller's GEMMs read next). p is the forward's probabilities (same layout). */
static KATTR void KFN(softmax_causal_backward_rows)(const float *restrict p, float *restrict d, size_t T, size_t r0,
                                                    size_t r1) {
  for (size_t t = r0; t < r1; t++) {
    const float *pr = p + t * T;
    float *dr = d + t * T;
    const size_t n = t + 1;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < n; j++) s += pr[j] * dr[j];
    for (size_t j = 0; j < n; j++) dr[j] = pr[j] * (dr[j] - s);
    for (size_t j = n; j < r1; j++) dr[j] = 0.0f;
  }
}

/* log Σ_v exp(row[v]) over V logits: float32 exponentials (expneg) summed in float64. */
static KATTR double KFN(row_lse)(const float *row, size_t V) {
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (size_t v = 0; v < V; v++) mx = row[v] > mx ? row[v] : mx;
  double z = 0.0;
#pragma omp simd reduction(+ : z)
  for (size_t v = 0; v < V; v++) z += (double)KFN(expneg)(row[v] - mx);
  return (double)mx + log(z);
}

/* Next-token log-probs for sequence rows [b0, b1) of a [B·T, V] logits matrix (model.ts scoreBatch):
 * for t ≥ 1 with mask[b·T+t] ≠ 0, lse[b·T+t−1] = log Σ exp(logits row b·T+t−1) and
 * tokLp[b·T+t] = logits[row, tokens[b·T+t]] − lse. Other entries are left alone. */
static KATTR void KFN(lm_logprobs)(const float *logits, const int32_t *tokens, const float *mask, size_t T, size_t V,
                                   size_t b0, size_t b1, float *lse, float *tokLp) {
  for (size_t b = b0; b < b1; b++) {
    for (size_t t = 1; t < T; t++) {
      const size_t i = b * T + t;
      if (mask[i] == 0.0f) continue;
      const float *row = logits + (i - 1) * V;
      const double l = KFN(row_lse)(row, V);
      lse[i - 1] = (float)l;
      tokLp[i] = (float)((double)row[tokens[i]] - l);
    }
  }
}

/* dlogits in place for rows [r0, r1) of [B·T, V] (model.ts backwardFromDlogp): with g = dlogp of the
 * next position (0 at t = T−1), row = −g·softmax(row) + g·onehot(next token), or all 0 when g = 0. */
static KATTR void KFN(lm_logits_backward)(float *logits, const float *lse, const float *dlogp, const int32_t *tokens,
                                          size_t T, size_t V, size_t r0, size_t r1) {
  for (size_t i = r0; i < r1; i++) {
    float *row = logits + i * V;
    const size_t t = i % T;
    const float g = t + 1 < T ? dlogp[i + 1] : 0.0f;
    if (g == 0.0f) {
      for (size_t v = 0; v < V; v++) row[v] = 0.0f;
      continue;
    }
    const float l = lse[i];
    for (size_t v = 0; v < V; v++) row[v] = -g * KFN(expneg)(row[v] - l);
    row[tokens[i + 1]] += g;
  }
}

/* In-place causal softmax over `blocks` consecutive T×T row-major blocks: row t of each block becomes
 * softmax(row[0..t]) and row[t+1..T) is set to 0 (attention probabilities of a causal layer). */
static KATTR void KFN(softmax_causal)(float *att, size_t T, size_t blocks) {
  for (size_t b = 0; b < blocks; b++) KFN(softmax_causal_rows)(att + b * T * T, T, 0, T);
}

/* KV-cache decode attention for S rows. Row r attends with query q[r·qStride + h·hs ..] to positions
 * 0..lens[r)−1 of cache slot slots[r]; k/v are [slots][blockSize][C] with C = nHead·hs; the output row
 * is out[r·C + h·hs ..]. `scores` is scratch of length ≥ max(lens). */
static KATTR void KFN(attention_decode)(const float *q, size_t qStride, const float *k, const float *v, float *out,
                                        const int32_t *slots, const int32_t *lens, size_t S, size_t NH, size_t hs,
                                        size_t blk, float scale, float *scores) {
  const size_t C = NH * hs;
  for (size_t r = 0; r < S; r++) {
    const size_t base = (size_t)slots[r] * blk * C;
    const size_t n = (size_t)lens[r];
    for (size_t h = 0; h < NH; h++) {
      const float *qh = q + r * qStride + h * hs;
      float mx = -INFINITY;
      for (size_t j = 0; j < n; j++) {
        const float *kj = k + base + j * C + h * hs;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (size_t d = 0; d < hs; d++) acc += qh[d] * kj[d];
        acc *= scale;
        scores[j] = acc;
        mx = acc > mx ? acc : mx;
      }
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (size_t j = 0; j < n; j++) {
        float e = KFN(expneg)(scores[j] - mx);
        scores[j] = e;
        s += e;
      }
      const float inv = 1.0f / s;
      float *y = out + r * C + h * hs;
      for (size_t d = 0; d < hs; d++) y[d] = 0.0f;
      for (size_t j = 0; j < n; j++) {
        const float p = scores[j] * inv;
        const float *vj = v + base + j * C + h * hs;
        for (size_t d = 0; d < hs; d++) y[d] += p * vj[d];
      }
    }
  }
}
