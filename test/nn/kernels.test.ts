import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import {
  geluBackward,
  geluForward,
  layerNormBackward,
  layerNormForward,
  sgemm,
  adamw,
  softmaxInPlace,
} from '../../src/nn/kernels.js';
import { setBackend } from '../../src/native/index.js';

setBackend('ts'); // these tests check the pure-TS kernels

function randArray(rng: Rng, n: number, s = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = s * rng.normal();
  return a;
}

test('sgemm NN/NT/TN/TT with offsets, leading dims, alpha, beta and ragged sizes matches a naive loop', () => {
  const rng = new Rng(1);
  for (const [M, N, K] of [
    [1, 1, 1],
    [5, 7, 3],
    [8, 12, 16],
    [9, 6, 13],
    [4, 4, 0],
  ]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const lda = (ta ? M : K) + 3;
        const ldb = (tb ? K : N) + 2;
        const ldc = N + 5;
        const offA = 4,
          offB = 7,
          offC = 2;
        const A = randArray(rng, offA + (ta ? K : M) * lda);
        const B = randArray(rng, offB + (tb ? N : K) * ldb);
        const C0 = randArray(rng, offC + M * ldc);
        for (const beta of [0, 1, 0.5]) {
          const C = C0.slice();
          sgemm(ta, tb, M, N, K, 0.7, A, offA, lda, B, offB, ldb, beta, C, offC, ldc);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let acc = 0;
              for (let k = 0; k < K; k++) {
                const a = ta ? A[offA + k * lda + i] : A[offA + i * lda + k];
                const b = tb ? B[offB + j * ldb + k] : B[offB + k * ldb + j];
                acc += a * b;
              }
              const want = 0.7 * acc + (beta === 0 ? 0 : beta * C0[offC + i * ldc + j]);
              assert.ok(
                Math.abs(C[offC + i * ldc + j] - want) < 1e-5 * (1 + Math.abs(want)),
                `M${M} N${N} K${K} ta${ta} tb${tb} beta${beta} (${i},${j})`,
              );
            }
            // padding columns untouched
            for (let j = N; j < ldc && offC + i * ldc + j < C.length; j++)
              assert.equal(C[offC + i * ldc + j], C0[offC + i * ldc + j]);
          }
        }
      }
    }
  }
});

test('GELU backward matches finite differences of GELU forward', () => {
  const x = Float32Array.from([-6, -3, -1.5, -0.3, 0, 0.2, 0.9, 2.5, 7]);
  const n = x.length;
  const dy = Float32Array.from([0.3, -1, 2, 0.5, 1, -0.7, 1.1, 0.4, -2]);
  const dx = new Float32Array(n).fill(0.25); // accumulates
  geluBackward(x, dy, dx, n);
  const f = (v: number): number =>
    0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const y = new Float32Array(n);
  geluForward(x, y, n);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(y[i] - f(x[i])) < 1e-6 * (1 + Math.abs(f(x[i]))), `forward at ${x[i]}`);
    const h = 1e-4;
    const fd = (f(x[i] + h) - f(x[i] - h)) / (2 * h);
    assert.ok(
      Math.abs(dx[i] - (0.25 + fd * dy[i])) < 1e-5,
      `backward at ${x[i]}: ${dx[i]} vs ${0.25 + fd * dy[i]}`,
    );
  }
});

test('LayerNorm forward normalises and backward matches finite differences (dx, dw, db)', () => {
  const rng = new Rng(3);
  const rows = 3,
    cols = 6,
    eps = 1e-5;
  const x = randArray(rng, rows * cols, 2);
  const w = randArray(rng, cols);
  const b = randArray(rng, cols);
  const dout = randArray(rng, rows * cols);
  const out = new Float32Array(rows * cols);
  const mean = new Float32Array(rows),
    rstd = new Float32Array(rows);
  const loss = (): number => {
    layerNormForward(x, w, b, out, mean, rstd, rows, cols, eps);
    let s = 0;
    for (let i = 0; i < rows * cols; i++) s += out[i] * dout[i];
    return s;
  };
  loss();
  const dx = new Float32Array(rows * cols),
    dw = new Float32Array(cols),
    db = new Float32Array(cols);
  layerNormBackward(dout, x, w, mean, rstd, dx, dw, db, rows, cols);
  const check = (arr: Float32Array, grad: Float32Array, name: string): void => {
    for (let i = 0; i < arr.length; i++) {
      const o = arr[i];
      const h = 1e-2;
      arr[i] = o + h;
      const up = arr[i];
      const lp = loss();
      arr[i] = o - h;
      const dn = arr[i];
      const lm = loss();
      arr[i] = o;
      const fd = (lp - lm) / (up - dn);
      assert.ok(Math.abs(fd - grad[i]) < 2e-3 + 2e-2 * Math.abs(fd), `${name}[${i}]: fd ${fd} vs ${grad[i]}`);
    }
  };
  check(x, dx, 'dx');
  check(w, dw, 'dw');
  check(b, db, 'db');
});

test('AdamW matches the torch.optim.AdamW update by hand', () => {
  const p = Float32Array.from([1, -2]);
  const g = Float32Array.from([0.5, -0.1]);
  const m = new Float32Array(2),
    v = new Float32Array(2);
  adamw(p, g, m, v, 2, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
  // t = 1: m̂ = g, v̂ = g², update = g/|g| = sign(g); p = p − lr·(sign(g) + wd·p)
  assert.ok(Math.abs(p[0] - (1 - 0.1 * (1 + 0.01 * 1))) < 1e-6);
  assert.ok(Math.abs(p[1] - (-2 - 0.1 * (-1 + 0.01 * -2))) < 1e-6);
});

test('softmaxInPlace returns log-sum-exp and normalises', () => {
  const x = Float32Array.from([1000, 1001, 999]);
  const lse = softmaxInPlace(x, 0, 3);
  assert.ok(Math.abs(x[0] + x[1] + x[2] - 1) < 1e-6);
  assert.ok(Math.abs(lse - (1001 + Math.log(1 + Math.exp(-1) + Math.exp(-2)))) < 1e-9);
});
