// Native addon (native/) vs straightforward TypeScript references on random data.
// Every test is skipped when the addon is not available (not built, or GSHF_NO_NATIVE=1), unless
// GSHF_EXPECT_NATIVE=1 (set by scripts/test.sh when the addon was built): then they run and fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { loadNativeAddon, nativeLoadError } from '../../src/native/index.js';

const ops = loadNativeAddon();
const expected = process.env.GSHF_EXPECT_NATIVE === '1';
const skip: string | false =
  ops || expected ? false : `native addon unavailable: ${nativeLoadError() ?? 'unknown reason'}`;

test('the native addon loads when it is expected (GSHF_EXPECT_NATIVE=1)', { skip: !expected }, () => {
  assert.ok(
    ops,
    `GSHF_EXPECT_NATIVE=1 but the addon did not load: ${nativeLoadError() ?? 'GSHF_NO_NATIVE=1?'}`,
  );
});
/** The addon, asserted present (only called inside non-skipped tests). */
function N(): NonNullable<typeof ops> {
  assert.ok(ops);
  return ops;
}

type Arr = Float32Array | Float64Array;

function randArray<T extends Arr>(ctor: { new (n: number): T }, n: number, rng: Rng, scale = 1): T {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * scale;
  return a;
}

/** |got − want| ≤ rtol·(|want| + max|want|) elementwise, i.e. relative error normalised by the array's scale. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= rtol * (Math.abs(want[i]) + maxAbs))) {
      assert.fail(
        `${what}: element ${i}: got ${got[i]}, want ${want[i]} (err ${err.toExponential(2)}, scale ${maxAbs})`,
      );
    }
  }
}

/** Reference GEMM in float64 over strided row-major views. */
function refGemm(
  ta: boolean,
  tb: boolean,
  M: number,
  N_: number,
  K: number,
  alpha: number,
  A: Arr,
  offA: number,
  lda: number,
  B: Arr,
  offB: number,
  ldb: number,
  beta: number,
  C: Arr,
  offC: number,
  ldc: number,
): Float64Array {
  const out = Float64Array.from(C);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N_; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = ta ? A[offA + k * lda + i] : A[offA + i * lda + k];
        const b = tb ? B[offB + j * ldb + k] : B[offB + k * ldb + j];
        s += a * b;
      }
      const c = C[offC + i * ldc + j];
      out[offC + i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c);
    }
  }
  return out;
}

function gemmCase(kind: 'sgemm' | 'dgemm', ta: boolean, tb: boolean, seed: number): void {
  const rng = new Rng(`${kind}-${ta}-${tb}-${seed}`);
  const ctor = (kind === 'sgemm' ? Float32Array : Float64Array) as unknown as { new (n: number): Arr };
  // seeds 4 and 5: one output row (the GEMV path); seed 6: a GEMV whose weights (N·K ≥ 65,536) use
  // both BLAS threads
  const M = seed >= 4 ? 1 : 13 + rng.int(20),
    N_ = seed === 6 ? 300 + rng.int(30) : 7 + rng.int(30),
    K = seed === 6 ? 250 + rng.int(40) : 5 + rng.int(40);
  const [rA, cA] = ta ? [K, M] : [M, K];
  const [rB, cB] = tb ? [N_, K] : [K, N_];
  const lda = cA + 1 + rng.int(5),
    ldb = cB + 3,
    ldc = N_ + 2;
  const offA = 3 + rng.int(7),
    offB = 11,
    offC = 5;
  const A = randArray(ctor, offA + rA * lda + 4, rng);
  const B = randArray(ctor, offB + rB * ldb + 2, rng);
  const C = randArray(ctor, offC + M * ldc + 3, rng);
  const alpha = 0.75,
    beta = seed % 2 === 0 ? 0 : -0.5;
  // beta = 0 must ignore C's contents (NaN included); padding outside the view keeps a sentinel.
  if (beta === 0) {
    for (let i = 0; i < C.length; i++)
      C[i] = i >= offC && i < offC + M * ldc && (i - offC) % ldc < N_ ? Number.NaN : 42;
  }
  const want = refGemm(ta, tb, M, N_, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
  const got = new ctor(C.length);
  got.set(C);
  if (kind === 'sgemm') {
    assert.ok(A instanceof Float32Array && B instanceof Float32Array && got instanceof Float32Array);
    N().sgemm(ta, tb, M, N_, K, alpha, A, offA, lda, B, offB, ldb, beta, got, offC, ldc);
  } else {
    assert.ok(A instanceof Float64Array && B instanceof Float64Array && got instanceof Float64Array);
    N().dgemm(ta, tb, M, N_, K, alpha, A, offA, lda, B, offB, ldb, beta, got, offC, ldc);
  }
  // padding outside the C view must be untouched
  for (let i = 0; i < C.length; i++) {
    const inView = i >= offC && i < offC + M * ldc && (i - offC) % ldc < N_;
    if (!inView) assert.equal(got[i], C[i], `${kind}: element ${i} outside the C view was modified`);
  }
  assertClose(got, want, kind === 'sgemm' ? 1e-5 : 1e-12, `${kind} ta=${ta} tb=${tb}`);
}

for (const kind of ['sgemm', 'dgemm'] as const) {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      test(
        `${kind} transA=${ta} transB=${tb} with offsets and ld > cols matches the reference`,
        { skip },
        () => {
          for (let seed = 0; seed < 7; seed++) gemmCase(kind, ta, tb, seed);
        },
      );
    }
  }
}

test('sgemm: K = 0 gives C = beta·C; M = 0 is a no-op', { skip }, () => {
  const C = new Float32Array([1, 2, 3, 4]);
  const E = new Float32Array(0);
  N().sgemm(false, false, 2, 2, 0, 1, E, 0, 1, E, 0, 2, 0.5, C, 0, 2);
  assert.deepEqual([...C], [0.5, 1, 1.5, 2]);
  N().sgemm(false, false, 0, 2, 3, 1, E, 0, 3, new Float32Array(6), 0, 2, 0, C, 0, 2);
  assert.deepEqual([...C], [0.5, 1, 1.5, 2]);
});

test('sgemm 512³ matches the reference on sampled entries', { skip }, () => {
  const rng = new Rng('big');
  const n = 512;
  const A = randArray(Float32Array, n * n, rng),
    B = randArray(Float32Array, n * n, rng);
  const C = new Float32Array(n * n);
  N().sgemm(false, true, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n);
  for (let t = 0; t < 200; t++) {
    const i = rng.int(n),
      j = rng.int(n);
    let s = 0,
      sa = 0;
    for (let k = 0; k < n; k++) {
      s += A[i * n + k] * B[j * n + k];
      sa += Math.abs(A[i * n + k] * B[j * n + k]);
    }
    assert.ok(Math.abs(C[i * n + j] - s) <= 1e-5 * sa, `C[${i},${j}] = ${C[i * n + j]}, want ${s}`);
  }
});

test('dsyrk: C = alpha·AᵀA + beta·C with both triangles filled, offsets and lda > d', { skip }, () => {
  for (const [n, d, beta] of [
    [200, 17, 0],
    [64, 33, 0.25],
    [5, 40, -1],
    [0, 3, 2],
  ] as const) {
    const rng = new Rng(`syrk-${n}-${d}`);
    const lda = d + 3,
      offA = 7;
    const A = randArray(Float64Array, offA + n * lda + 1, rng);
    // symmetric starting C
    const C = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) C[i * d + j] = C[j * d + i] = rng.uniform();
    const alpha = 1.5;
    const want = refGemm(true, false, d, d, n, alpha, A, offA, lda, A, offA, lda, beta, C, 0, d);
    N().dsyrk(n, d, alpha, A, offA, lda, beta, C);
    assertClose(C, want, 1e-12, `dsyrk n=${n} d=${d}`);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.equal(C[i * d + j], C[j * d + i]);
  }
});

test(
  'dsyrkWeighted: C = alpha·Σ w_i a_i a_iᵀ + beta·C for non-negative and mixed-sign weights',
  { skip },
  () => {
    for (const [n, d, beta, signs] of [
      [300, 9, 0, 'pos'],
      [70, 33, 0.5, 'mixed'],
      [5, 4, -1, 'pos'],
      [0, 3, 2, 'pos'],
    ] as const) {
      const rng = new Rng(`syrkw-${n}-${d}-${signs}`);
      const lda = d + 2,
        offA = 3;
      const A = randArray(Float64Array, offA + n * lda, rng);
      const w = Float64Array.from({ length: n }, () =>
        signs === 'pos' ? rng.uniform() : rng.uniform() - 0.5,
      );
      if (signs === 'pos' && n > 0) w[0] = 0;
      const C = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = i; j < d; j++) C[i * d + j] = C[j * d + i] = rng.uniform();
      const alpha = 0.7;
      const want = new Float64Array(d * d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let r = 0; r < n; r++) s += w[r] * A[offA + r * lda + i] * A[offA + r * lda + j];
          want[i * d + j] = alpha * s + beta * C[i * d + j];
        }
      }
      N().dsyrkWeighted!(n, d, alpha, A, offA, lda, w, beta, C);
      assertClose(C, want, 1e-12, `dsyrkWeighted n=${n} d=${d} ${signs}`);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.equal(C[i * d + j], C[j * d + i]);
    }
    const d = new Float64Array(16);
    assert.throws(
      () => N().dsyrkWeighted!(4, 4, 1, d, 0, 4, new Float64Array(3), 0, d),
      /w has length 3, needs at least 4/,
    );
  },
);

const GC = Math.sqrt(2 / Math.PI);
const geluRef = (x: number): number => 0.5 * x * (1 + Math.tanh(GC * (x + 0.044715 * x ** 3)));
const geluGradRef = (x: number): number => {
  const t = Math.tanh(GC * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GC * (1 + 3 * 0.044715 * x * x);
};

function geluInputs(n: number, rng: Rng): Float32Array {
  const x = randArray(Float32Array, n, rng, 4);
  const special = [0, -0, 1e-30, -1e-30, 1e-4, -1e-4, 3, -3, 10, -10, 20, -20, 50, -50, 100, -100, 1e4, -1e4];
  x.set(special, 0);
  return x;
}

test(
  'geluForward matches 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) incl. tails and odd lengths',
  { skip },
  () => {
    const rng = new Rng('gelu');
    for (const n of [1003, 17, 1]) {
      const x = geluInputs(Math.max(n, 18), rng).subarray(0, n);
      const y = new Float32Array(n + 1).fill(7);
      N().geluForward!(x, y, n);
      assert.equal(y[n], 7, 'wrote past n');
      assertClose(y.subarray(0, n), Array.from(x, geluRef), 1e-5, `gelu n=${n}`);
      for (let i = 0; i < n; i++) {
        // also elementwise relative for |y| not tiny
        const r = geluRef(x[i]);
        assert.ok(Math.abs(y[i] - r) <= 1e-5 * Math.abs(r) + 1e-7, `gelu(${x[i]}) = ${y[i]}, want ${r}`);
      }
    }
    // in place (y aliases x)
    const x = geluInputs(100, rng);
    const want = Array.from(x, geluRef);
    N().geluForward!(x, x, x.length);
    assertClose(x, want, 1e-5, 'gelu in place');
  },
);

test('geluBackward accumulates gelu′(x)·dy into dx', { skip }, () => {
  const rng = new Rng('gelu-bwd');
  const n = 1001;
  const x = geluInputs(n, rng);
  const dy = randArray(Float32Array, n, rng);
  const dx = randArray(Float32Array, n, rng);
  const want = Array.from(dx, (v, i) => v + geluGradRef(x[i]) * dy[i]);
  N().geluBackward!(x, dy, dx, n);
  assertClose(dx, want, 1e-5, 'geluBackward');
  for (let i = 0; i < n; i++) {
    const g = geluGradRef(x[i]);
    const got = (dx[i] - (want[i] - g * dy[i])) / dy[i];
    assert.ok(Math.abs(got - g) <= 2e-5 * (Math.abs(g) + 1), `gelu'(${x[i]}) = ${got}, want ${g}`);
  }
});

test('adamw matches the bias-corrected decoupled-weight-decay update (t = 1 and t = 7)', { skip }, () => {
  const rng = new Rng('adam');
  const n = 777;
  for (const t of [1, 7]) {
    const p = randArray(Float32Array, n, rng),
      g = randArray(Float32Array, n, rng, 0.1);
    const m = t === 1 ? new Float32Array(n) : randArray(Float32Array, n, rng, 0.05);
    const v =
      t === 1 ? new Float32Array(n) : Float32Array.from(randArray(Float32Array, n, rng, 0.01), (z) => z * z);
    const [lr, b1, b2, eps, wd] = [3e-3, 0.9, 0.95, 1e-8, 0.1];
    const wp = new Float64Array(n),
      wm = new Float64Array(n),
      wv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      wm[i] = b1 * m[i] + (1 - b1) * g[i];
      wv[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mh = wm[i] / (1 - b1 ** t),
        vh = wv[i] / (1 - b2 ** t);
      wp[i] = p[i] - lr * (mh / (Math.sqrt(vh) + eps) + wd * p[i]);
    }
    N().adamw!(p, g, m, v, n, lr, b1, b2, eps, wd, t);
    assertClose(m, wm, 1e-5, `adam m t=${t}`);
    assertClose(v, wv, 1e-5, `adam v t=${t}`);
    assertClose(p, wp, 1e-5, `adam p t=${t}`);
  }
});

function lnForwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
) {
  const out = new Float64Array(rows * cols),
    mean = new Float64Array(rows),
    rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < cols; i++) s += x[r * cols + i];
    const mu = s / cols;
    let v = 0;
    for (let i = 0; i < cols; i++) v += (x[r * cols + i] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / cols + eps);
    for (let i = 0; i < cols; i++) out[r * cols + i] = (x[r * cols + i] - mu) * rs * w[i] + b[i];
    mean[r] = mu;
    rstd[r] = rs;
  }
  return { out, mean, rstd };
}

test('layerNormForward matches the reference (biased variance) and writes mean/rstd', { skip }, () => {
  const rng = new Rng('ln');
  for (const [rows, cols] of [
    [37, 129],
    [4, 1],
    [16, 384],
  ] as const) {
    const x = randArray(Float32Array, rows * cols, rng, 3);
    for (let i = 0; i < x.length; i++) x[i] += 5; // non-zero mean
    const w = randArray(Float32Array, cols, rng),
      b = randArray(Float32Array, cols, rng);
    const out = new Float32Array(rows * cols),
      mean = new Float32Array(rows),
      rstd = new Float32Array(rows);
    const eps = 1e-5;
    N().layerNormForward!(x, w, b, out, mean, rstd, rows, cols, eps);
    const ref = lnForwardRef(x, w, b, rows, cols, eps);
    assertClose(mean, ref.mean, 1e-5, 'ln mean');
    assertClose(rstd, ref.rstd, 1e-5, 'ln rstd');
    assertClose(out, ref.out, 1e-5, `ln out ${rows}x${cols}`);
  }
});

test('layerNormBackward accumulates dx, dw, db (reference formula and finite differences)', { skip }, () => {
  const rng = new Rng('ln-bwd');
  const rows = 23,
    cols = 67,
    eps = 1e-5;
  const x = randArray(Float32Array, rows * cols, rng, 2);
  const w = randArray(Float32Array, cols, rng),
    b = randArray(Float32Array, cols, rng);
  const dout = randArray(Float32Array, rows * cols, rng);
  const out = new Float32Array(rows * cols),
    mean = new Float32Array(rows),
    rstd = new Float32Array(rows);
  N().layerNormForward!(x, w, b, out, mean, rstd, rows, cols, eps);
  const dx = randArray(Float32Array, rows * cols, rng),
    dw = randArray(Float32Array, cols, rng),
    db = randArray(Float32Array, cols, rng);
  const dx0 = Float64Array.from(dx),
    dw0 = Float64Array.from(dw),
    db0 = Float64Array.from(db);
  N().layerNormBackward!(dout, x, w, mean, rstd, dx, dw, db, rows, cols);

  // reference (llm.c formula, float64)
  const ref = lnForwardRef(x, w, b, rows, cols, eps);
  const wdx = Float64Array.from(dx0),
    wdw = Float64Array.from(dw0),
    wdb = Float64Array.from(db0);
  for (let r = 0; r < rows; r++) {
    let a = 0,
      c = 0;
    for (let i = 0; i < cols; i++) {
      const norm = (x[r * cols + i] - ref.mean[r]) * ref.rstd[r];
      a += w[i] * dout[r * cols + i];
      c += w[i] * dout[r * cols + i] * norm;
    }
    a /= cols;
    c /= cols;
    for (let i = 0; i < cols; i++) {
      const norm = (x[r * cols + i] - ref.mean[r]) * ref.rstd[r];
      const d = dout[r * cols + i];
      wdb[i] += d;
      wdw[i] += norm * d;
      wdx[r * cols + i] += (w[i] * d - a - norm * c) * ref.rstd[r];
    }
  }
  const sub = (u: ArrayLike<number>, v: ArrayLike<number>) => Array.from(u, (z, i) => z - v[i]);
  assertClose(sub(dx, dx0), sub(wdx, dx0), 1e-5, 'ln dx');
  assertClose(sub(dw, dw0), sub(wdw, dw0), 1e-5, 'ln dw');
  assertClose(sub(db, db0), sub(wdb, db0), 1e-5, 'ln db');

  // finite differences of L = Σ dout·out in float64 for a few x entries
  const xd = Float64Array.from(x);
  const loss = (xx: Float64Array): number => {
    const o = lnForwardRef(xx, w, b, rows, cols, eps).out;
    let s = 0;
    for (let i = 0; i < o.length; i++) s += dout[i] * o[i];
    return s;
  };
  for (let t = 0; t < 10; t++) {
    const i = rng.int(rows * cols),
      h = 1e-5;
    const xp = Float64Array.from(xd),
      xm = Float64Array.from(xd);
    xp[i] += h;
    xm[i] -= h;
    const fd = (loss(xp) - loss(xm)) / (2 * h);
    assert.ok(
      Math.abs(dx[i] - dx0[i] - fd) <= 1e-4 * (Math.abs(fd) + 1),
      `dx[${i}] = ${dx[i] - dx0[i]}, fd ${fd}`,
    );
  }
});

test(
  'softmaxCausal matches a float64 causal softmax per block and zeroes the upper triangle',
  { skip },
  () => {
    const rng = new Rng('softmax-causal');
    for (const [T, blocks] of [
      [1, 3],
      [7, 5],
      [64, 2],
      [33, 1],
    ] as const) {
      const att = randArray(Float32Array, blocks * T * T + 5, rng, 6);
      const tail = Array.from(att.subarray(blocks * T * T));
      const want = new Float64Array(blocks * T * T);
      for (let b = 0; b < blocks; b++) {
        for (let t = 0; t < T; t++) {
          const o = (b * T + t) * T;
          let mx = -Infinity;
          for (let j = 0; j <= t; j++) mx = Math.max(mx, att[o + j]);
          let z = 0;
          for (let j = 0; j <= t; j++) z += Math.exp(att[o + j] - mx);
          for (let j = 0; j <= t; j++) want[o + j] = Math.exp(att[o + j] - mx) / z;
        }
      }
      N().softmaxCausal!(att, T, blocks);
      for (let i = 0; i < want.length; i++) {
        assert.ok(
          Math.abs(att[i] - want[i]) <= 1e-6 * (want[i] + 1e-6) + 1e-7,
          `T=${T} [${i}]: ${att[i]} vs ${want[i]}`,
        );
      }
      assert.deepEqual(Array.from(att.subarray(blocks * T * T)), tail, 'wrote past blocks·T·T');
    }
  },
);

test(
  'attentionDecode matches a float64 reference over cache slots (scattered slots, varied lengths)',
  { skip },
  () => {
    const rng = new Rng('attn-decode');
    const NH = 4,
      hs = 8,
      C = NH * hs,
      blk = 20,
      nSlots = 6,
      S = 4,
      qStride = 3 * C;
    const k = randArray(Float32Array, nSlots * blk * C, rng),
      v = randArray(Float32Array, nSlots * blk * C, rng);
    const q = randArray(Float32Array, S * qStride, rng, 2);
    const slots = Int32Array.from([5, 0, 3, 2]);
    const lens = Int32Array.from([1, 20, 7, 13]);
    const scale = 1 / Math.sqrt(hs);
    const out = new Float32Array(S * C + 3).fill(9);
    N().attentionDecode!(q, qStride, k, v, out, slots, lens, S, NH, hs, blk, scale);
    const want = new Float64Array(S * C);
    for (let r = 0; r < S; r++) {
      const base = slots[r] * blk * C;
      for (let h = 0; h < NH; h++) {
        const sc: number[] = [];
        for (let j = 0; j < lens[r]; j++) {
          let d = 0;
          for (let e = 0; e < hs; e++) d += q[r * qStride + h * hs + e] * k[base + j * C + h * hs + e];
          sc.push(scale * d);
        }
        const mx = Math.max(...sc);
        const ex = sc.map((z) => Math.exp(z - mx));
        const Z = ex.reduce((a2, b2) => a2 + b2, 0);
        for (let e = 0; e < hs; e++) {
          let y = 0;
          for (let j = 0; j < lens[r]; j++) y += (ex[j] / Z) * v[base + j * C + h * hs + e];
          want[r * C + h * hs + e] = y;
        }
      }
    }
    assertClose(out.subarray(0, S * C), want, 1e-5, 'attentionDecode');
    assert.deepEqual(Array.from(out.subarray(S * C)), [9, 9, 9]);
    const bad = (args: Partial<Record<'slots' | 'lens' | 'qStride' | 'k', unknown>>, re: RegExp): void => {
      const fn = N().attentionDecode as unknown as (...a: unknown[]) => void;
      assert.throws(
        () =>
          fn(
            q,
            args.qStride ?? qStride,
            args.k ?? k,
            v,
            out,
            args.slots ?? slots,
            args.lens ?? lens,
            S,
            NH,
            hs,
            blk,
            scale,
          ),
        (e: unknown) => (e instanceof RangeError || e instanceof TypeError) && re.test(e.message),
      );
    };
    bad({ lens: Int32Array.from([1, 21, 7, 13]) }, /lens\[1\] = 21 must be in \[1, blockSize = 20\]/);
    bad({ lens: Int32Array.from([0, 1, 1, 1]) }, /lens\[0\] = 0/);
    bad({ slots: Int32Array.from([6, 0, 3, 2]) }, /slot 6 needs k and v of length/);
    bad({ slots: Int32Array.from([-1, 0, 3, 2]) }, /slots\[0\] = -1/);
    bad({ slots: [5, 0, 3, 2] }, /slots must be an Int32Array/);
    bad({ qStride: C - 1 }, /qStride must be >= nHead \* headSize/);
    bad({ k: new Float32Array(10) }, /slot 5 needs k and v/);
  },
);

test(
  'geluForward, geluBackward and adamw on both cores equal the same kernels run in small slices',
  { skip },
  () => {
    // 200,003 elements: above the 2 × 65,536 split threshold, so the calls below run on 2 threads (with
    // setThreads(2)); slices of 40,000 run on one. Element-wise kernels must agree bit for bit.
    const n = 200003;
    const rng = new Rng('par');
    const x = randArray(Float32Array, n, rng, 4);
    const dy = randArray(Float32Array, n, rng);
    const slices = (f: (i0: number, i1: number) => void): void => {
      for (let i = 0; i < n; i += 40000) f(i, Math.min(n, i + 40000));
    };
    const prev = N().getThreads?.() ?? 1;
    N().setThreads(2);
    try {
      const y1 = new Float32Array(n);
      const y2 = new Float32Array(n);
      N().geluForward?.(x, y1, n);
      slices((a, b) => N().geluForward?.(x.subarray(a, b), y2.subarray(a, b), b - a));
      assert.deepEqual(y1, y2);
      const dx1 = randArray(Float32Array, n, new Rng('dx'));
      const dx2 = dx1.slice();
      N().geluBackward?.(x, dy, dx1, n);
      slices((a, b) => N().geluBackward?.(x.subarray(a, b), dy.subarray(a, b), dx2.subarray(a, b), b - a));
      assert.deepEqual(dx1, dx2);
      const state = (): Float32Array[] => [
        x.slice(),
        new Float32Array(n).fill(0.01),
        new Float32Array(n).fill(0.02),
      ];
      const [p1, m1, v1] = state();
      const [p2, m2, v2] = state();
      N().adamw?.(p1, dy, m1, v1, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, 3);
      slices((a, b) =>
        N().adamw?.(
          p2.subarray(a, b),
          dy.subarray(a, b),
          m2.subarray(a, b),
          v2.subarray(a, b),
          b - a,
          1e-3,
          0.9,
          0.95,
          1e-8,
          0.1,
          3,
        ),
      );
      assert.deepEqual([p1, m1, v1], [p2, m2, v2]);
      assert.notDeepEqual(p1, x, 'adamw changed the parameters');
    } finally {
      N().setThreads(prev);
    }
  },
);

test('setGemmSingleThreadBelow: results unchanged with small GEMMs forced to one thread', { skip }, () => {
  const n = N();
  const rng = new Rng('small-gemm');
  const M = 64,
    K = 48,
    Nn = 40;
  const A = randArray(Float32Array, M * K, rng),
    B = randArray(Float32Array, Nn * K, rng);
  const want = refGemm(false, true, M, Nn, K, 1, A, 0, K, B, 0, K, 0, new Float32Array(M * Nn), 0, Nn);
  const before = n.getThreads!();
  n.setThreads(2);
  for (const thr of [0, 1e9]) {
    n.setGemmSingleThreadBelow!(thr);
    const C = new Float32Array(M * Nn);
    n.sgemm(false, true, M, Nn, K, 1, A, 0, K, B, 0, K, 0, C, 0, Nn);
    assertClose(C, want, 1e-5, `threshold ${thr}`);
    assert.equal(n.getThreads!(), 2, 'thread count restored after a small GEMM');
  }
  n.setGemmSingleThreadBelow!(0);
  n.setThreads(before);
  assert.throws(() => n.setGemmSingleThreadBelow!(-1), RangeError);
});

test('setThreads / getThreads / describe', { skip }, () => {
  const n = N();
  const before = n.getThreads!();
  n.setThreads(1);
  assert.equal(n.getThreads!(), 1);
  n.setThreads(before);
  assert.match(n.describe(), /OpenBLAS/);
  assert.match(n.simdLevel!(), /^(avx2\+fma|generic)$/);
  assert.throws(() => n.setThreads(0), RangeError);
});

test(
  'bad arguments throw a TypeError (wrong type or count) or a RangeError (bad value) naming the argument',
  { skip },
  () => {
    const n = N();
    const f = new Float32Array(16),
      d = new Float64Array(16);
    type AnyFn = (...a: unknown[]) => void;
    const call =
      (name: string, ...args: unknown[]) =>
      () =>
        (n as unknown as Record<string, AnyFn>)[name](...args);
    const cases: [() => void, RegExp][] = [
      [call('sgemm', false, false, 2, 2, 2, 1, d, 0, 2, f, 0, 2, 0, f, 0, 2), /A must be a Float32Array/],
      [call('dgemm', false, false, 2, 2, 2, 1, f, 0, 2, d, 0, 2, 0, d, 0, 2), /A must be a Float64Array/],
      [
        call('sgemm', false, false, 2, 2, 2, 1, [1, 2, 3, 4], 0, 2, f, 0, 2, 0, f, 0, 2),
        /A must be a Float32Array/,
      ],
      [call('sgemm', 0, false, 2, 2, 2, 1, f, 0, 2, f, 0, 2, 0, f, 0, 2), /transA must be a boolean/],
      [call('sgemm', false, false, -1, 2, 2, 1, f, 0, 2, f, 0, 2, 0, f, 0, 2), /M must be an integer/],
      [call('sgemm', false, false, 2, 2.5, 2, 1, f, 0, 2, f, 0, 2, 0, f, 0, 2), /N must be an integer/],
      [call('sgemm', false, false, 2, 2, 2, '1', f, 0, 2, f, 0, 2, 0, f, 0, 2), /alpha must be a number/],
      [call('sgemm', false, false, 2, 2, 2, 1, f, 15, 2, f, 0, 2, 0, f, 0, 2), /A view out of bounds/],
      [call('sgemm', false, false, 4, 4, 4, 1, f, 0, 4, f, 0, 4, 0, f, 1, 4), /C view out of bounds/],
      [call('sgemm', false, true, 2, 6, 3, 1, f, 0, 3, f, 0, 3, 0, f, 0, 6), /B view out of bounds/],
      [call('sgemm', false, false, 2, 2, 3, 1, f, 0, 2, f, 0, 2, 0, f, 0, 2), /leading dimension of A/],
      [call('sgemm', false, false, 2, 2, 2, 1, f, 1e300, 2, f, 0, 2, 0, f, 0, 2), /offA must be an integer/],
      [call('sgemm', false, false, 2, 2, 2, 1, f, 0, 2, f, 0, 2, 0, f, 0), /expected 16 arguments, got 15/],
      [call('dsyrk', 5, 4, 1, d, 0, 4, 0, d), /A view out of bounds/],
      [call('dsyrk', 2, 5, 1, d, 0, 5, 0, d), /C has length 16, needs at least 25/],
      [call('geluForward', f, f, 17), /x has length 16, needs at least 17/],
      [call('geluBackward', f, f, d, 4), /dx must be a Float32Array/],
      [call('adamw', f, f, f, f, 4, 1e-3, 0.9, 0.999, 1e-8, 0, 1), /distinct arrays/],
      [
        call(
          'adamw',
          f,
          new Float32Array(16),
          new Float32Array(16),
          new Float32Array(16),
          4,
          1e-3,
          0.9,
          0.999,
          1e-8,
          0,
          0,
        ),
        /t \(step count\) must be >= 1/,
      ],
      [call('layerNormForward', f, f, f, f, f, f, 4, 5, 1e-5), /x has length 16, needs at least 20/],
      [
        call('layerNormBackward', f, f, f, f, f, f, f, new Float32Array(2), 2, 4),
        /db has length 2, needs at least 4/,
      ],
    ];
    for (const [fn, re] of cases) {
      // Type and argument-count problems are TypeErrors; every other refusal is a RangeError.
      const kind = /must be (a|an) (Float|Int|boolean|number)|arguments, got/.test(re.source)
        ? TypeError
        : RangeError;
      assert.throws(
        fn,
        (e: unknown) => e instanceof kind && re.test(e.message),
        `expected ${kind.name} matching ${re}`,
      );
    }
    // nothing was written by the failed calls
    assert.ok(f.every((z) => z === 0));
  },
);

test('loader: GSHF_NO_NATIVE=1 makes loadNativeAddon() return null and the backend ts (fresh process)', async () => {
  const { spawnSync } = await import('node:child_process');
  const url = new URL('../../src/native/index.js', import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { loadNativeAddon, nativeLoadError, kernelBackendName, setBackend } from ${JSON.stringify(url)};
       console.log(loadNativeAddon() === null, nativeLoadError());
       console.log(kernelBackendName());
       try { setBackend('native'); } catch (e) { console.log(e.message); }`,
    ],
    {
      env: { ...process.env, GSHF_NO_NATIVE: '1' },
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^true disabled by GSHF_NO_NATIVE=1\nts\nsetBackend\('native'\): disabled by GSHF_NO_NATIVE=1\n/,
  );
});

test(
  'sizes whose product overflows throw a RangeError naming the argument (checked before any access)',
  { skip },
  () => {
    const n = N();
    const f = new Float32Array(8);
    const big = 2 ** 31 - 1;
    const overflow = (fn: () => void, re: RegExp) =>
      assert.throws(
        fn,
        (e: unknown) => e instanceof RangeError && re.test(e.message),
        `expected RangeError ${re}`,
      );
    // B·T·3·C with B = 2³¹−1, T = 46340, C = 65536·65536: far beyond int64.
    overflow(
      () => n.attentionForward!(f, f, f, big, 46340, 65536, 65536, 1),
      /attentionForward: qkv needs B \* T \* 3 \* C elements, which overflows/,
    );
    overflow(
      () => n.attentionBackward!(f, f, f, f, big, 46340, 65536, 65536, 1),
      /attentionBackward: qkv needs B \* T \* 3 \* C elements, which overflows/,
    );
    // B·T·V = (2³¹−1)³.
    overflow(
      () => n.lmLogProbs!(f, new Int32Array(8), f, big, big, big, f, f),
      /lmLogProbs: logits needs B \* T \* V elements, which overflows/,
    );
    overflow(
      () => n.lmLogitsBackward!(f, f, f, new Int32Array(8), big, big, big),
      /lmLogitsBackward: logits needs B \* T \* V elements, which overflows/,
    );
    // n·d = (2⁵³−1)·46340 for the bandit solver.
    const d8 = new Float64Array(8);
    overflow(
      () => n.btNewton!(d8, 2 ** 53 - 1, 46340, null, null, 1, d8, 1, 1e-8, d8, d8, d8, d8),
      /btNewton: X needs n \* d elements, which overflows/,
    );
    // A product that fits but exceeds the array is the ordinary length error, also a RangeError.
    overflow(() => n.softmaxCausal!(f, 3, 1), /softmaxCausal: att has length 8, needs at least 9/);
  },
);

test('a numerical failure throws a plain Error, not a TypeError or RangeError', { skip }, () => {
  const n = N();
  const X = Float64Array.from([NaN, 1, 2, NaN, 0, 1]);
  const th = new Float64Array(2);
  const info = new Float64Array(6);
  assert.throws(
    () =>
      n.btNewton!(
        X,
        3,
        2,
        null,
        null,
        0,
        th,
        5,
        1e-10,
        new Float64Array(2),
        new Float64Array(4),
        new Float64Array(4),
        info,
      ),
    (e: unknown) =>
      e instanceof Error &&
      !(e instanceof TypeError) &&
      !(e instanceof RangeError) &&
      /not positive definite/.test(e.message),
  );
});

test(
  'worker threads: while a second JS environment holds the addon every call runs on one thread',
  { skip },
  async () => {
    const n = N();
    const { Worker } = await import('node:worker_threads');
    const url = new URL('../../src/native/index.js', import.meta.url).href;
    const before = n.getThreads!();
    n.setThreads(2);
    assert.equal(n.getThreads!(), 2);
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
     import('${url}').then(({ loadNativeAddon }) => {
       parentPort.postMessage(loadNativeAddon().getThreads());
       parentPort.once('message', () => process.exit(0));
     });`,
      { eval: true, env: { ...process.env, GSHF_THREADS: '1' } },
    );
    try {
      const inWorker = await new Promise((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
      });
      assert.equal(inWorker, 1);
      assert.equal(n.getThreads!(), 1, 'the main thread also runs on one thread while the worker is alive');
    } finally {
      const exited = new Promise((res) => w.once('exit', res));
      w.postMessage('stop');
      await exited;
    }
    // The worker's environment is gone (its instance data released): the main thread's own count is back.
    for (let i = 0; i < 50 && n.getThreads!() !== 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(n.getThreads!(), 2);
    n.setThreads(before);
  },
);
