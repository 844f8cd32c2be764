import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addOuterProducts,
  axpy,
  cholesky,
  choleskySolve,
  dot,
  inverseSPD,
  mahalanobisSq,
  matVec,
  norm2,
  solveSPD,
  symmetricEigenvalues,
} from '../../src/math/linalg.js';
import { Rng } from '../../src/math/rng.js';

function allClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `entry ${i}: ${a[i]} vs ${b[i]} (tol ${tol})`);
}

// Classic example: A = L·Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]].
const A3 = Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]);
// A⁻¹ by hand (adjugate / det, det = 36).
const A3inv = Float64Array.from([1777, -488, 76, -488, 136, -20, 76, -20, 4].map((v) => v / 36));

test('dot, norm2, axpy, matVec', () => {
  assert.equal(dot([1, 2, 3], [4, 5, 6]), 32);
  assert.equal(dot([9, 1, 2, 3], [4, 5, 6, 9], 1, 0, 3), 32);
  assert.equal(norm2([3, 4]), 5);
  assert.deepEqual(Array.from(axpy(2, [1, 2], Float64Array.from([10, 20]))), [12, 24]);
  assert.deepEqual(Array.from(matVec([1, 2, 3, 4, 5, 6], 2, 3, [1, 0, -1])), [-2, -2]);
});

test('Cholesky of a hand-computed 3×3', () => {
  allClose(cholesky(A3, 3), [2, 0, 0, 6, 1, 0, -8, 5, 3], 1e-14);
});

test('choleskySolve / solveSPD recover x from A·x', () => {
  const x = [1, 2, 3];
  const b = matVec(A3, 3, 3, x); // [-20, -43, 192]
  allClose(b, [-20, -43, 192], 0);
  allClose(choleskySolve(cholesky(A3, 3), 3, b), x, 1e-12);
  allClose(solveSPD(A3, 3, b), x, 1e-12);
});

test('inverseSPD matches the hand inverse', () => {
  // Sanity of the hand inverse itself: A·A⁻¹ = I.
  const I = new Float64Array(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) I[i * 3 + j] += A3[i * 3 + k] * A3inv[k * 3 + j];
  allClose(I, [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-12);
  allClose(inverseSPD(A3, 3), A3inv, 1e-11);
});

test('cholesky throws a clear error on a non-positive-definite matrix', () => {
  assert.throws(() => cholesky([1, 2, 2, 1], 2), /not positive definite.*pivot 1/);
  assert.throws(() => cholesky([0, 0, 0, 1], 2), /not positive definite.*pivot 0/);
  assert.throws(() => cholesky([NaN, 0, 0, 1], 2), /not positive definite/);
});

test('mahalanobisSq equals vᵀA⁻¹v with the explicit inverse', () => {
  const L = cholesky(A3, 3);
  for (const v of [
    [1, -1, 2],
    [0.3, 0, -7],
    [1, 0, 0],
  ]) {
    const explicit = dot(v, matVec(A3inv, 3, 3, v));
    const got = mahalanobisSq(L, 3, v);
    assert.ok(Math.abs(got - explicit) <= 1e-10 * explicit, `${got} vs ${explicit}`);
  }
  // e₁ᵀA⁻¹e₁ = 1777/36
  assert.ok(Math.abs(mahalanobisSq(L, 3, [1, 0, 0]) - 1777 / 36) < 1e-10);
});

test('addOuterProducts matches the naive sum (weights, offsets, leading dimension)', () => {
  const rng = new Rng(7);
  const n = 37;
  const d = 6;
  const ldx = 9;
  const offX = 5;
  const X = new Float64Array(offX + n * ldx);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = rng.uniform() * 2;
  const start = new Float64Array(d * d);
  for (let i = 0; i < d; i++) start[i * d + i] = 0.5; // out is accumulated into, not overwritten
  const naive = Float64Array.from(start);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) naive[a * d + b] += w[i] * X[offX + i * ldx + a] * X[offX + i * ldx + b];
  const got = addOuterProducts(n, d, X, w, Float64Array.from(start), offX, ldx);
  allClose(got, naive, 1e-12);
  // weights = null means all ones
  const naive1 = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) naive1[a * d + b] += X[offX + i * ldx + a] * X[offX + i * ldx + b];
  allClose(addOuterProducts(n, d, X, null, new Float64Array(d * d), offX, ldx), naive1, 1e-12);
});

test('addOuterProducts on a large problem (native dsyrk path when built) matches the naive sum', () => {
  const rng = new Rng(8);
  const n = 3000;
  const d = 12;
  const X = new Float64Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = rng.uniform();
  const naive = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) naive[a * d + b] += w[i] * X[i * d + a] * X[i * d + b];
  allClose(addOuterProducts(n, d, X, w, new Float64Array(d * d)), naive, 1e-9);
});

test('symmetricEigenvalues: known spectra, trace and determinant', () => {
  allClose(symmetricEigenvalues([2, 1, 1, 2], 2), [1, 3], 1e-14);
  allClose(symmetricEigenvalues([5, 0, 0, 0, -1, 0, 0, 0, 2], 3), [-1, 2, 5], 0);
  const ev = symmetricEigenvalues(A3, 3);
  assert.ok(Math.abs(ev[0] + ev[1] + ev[2] - 139) < 1e-10, 'trace');
  assert.ok(Math.abs(ev[0] * ev[1] * ev[2] - 36) < 1e-9, 'determinant');
  assert.ok(ev[0] > 0 && ev[0] < ev[1] && ev[1] < ev[2]);
});
