// The native Bradley–Terry Newton solver (native/src/mle.c) against the TypeScript one, and its
// vectorised exp/log1p against V8's Math.exp / Math.log1p. Skipped when the addon is unavailable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { loadNativeAddon, withBackend } from '../../src/native/index.js';
import { assertKernels, skipUnlessKernels } from './expect.js';
import { fitMLE, type MLEOptions } from '../../src/bandit/mle.js';
import { generateEnv, behaviourPolicy } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { featureDiffs } from '../../src/bandit/env.js';

const ops = loadNativeAddon();
const skip = skipUnlessKernels('btNewton', 'btVec');
function N(): NonNullable<typeof ops> {
  assertKernels('btNewton', 'btVec');
  assert.ok(ops);
  return ops;
}

/** max |got − want| / |want| over the array (want ≠ 0 everywhere here). */
function maxRel(got: Float64Array, want: (i: number) => number): { err: number; at: number } {
  let err = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const w = want(i);
    const e = Math.abs(got[i] - w) / Math.abs(w);
    if (e > err) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}

/** The stated bound of native/src/mle_impl.h: ≤ 4.5e-16 relative (≈ 2 ulp) against V8. */
const REL_BOUND = 4.5e-16;

test('native exp(x), x ≤ 0: within 4.5e-16 relative of Math.exp (10⁶ random + edge cases)', { skip }, () => {
  const rng = new Rng(11);
  const edges = [
    0,
    -0,
    -1e-300,
    -5e-324,
    -1e-17,
    -(2 ** -53),
    -0.3465,
    -0.3466,
    -0.5,
    -1,
    -Math.LN2,
    -700,
    -708,
  ];
  const n = 1_000_000 + edges.length;
  const x = new Float64Array(n);
  x.set(edges);
  for (let i = edges.length; i < n; i++) {
    // Half uniform over the solver's range [−708, 0], half log-uniform near 0 (tiny margins).
    x[i] = i % 2 ? -708 * rng.uniform() : -(10 ** (-20 * rng.uniform()));
  }
  const out = new Float64Array(n);
  N().btVec?.(0, x, out, n);
  const { err, at } = maxRel(out, (i) => Math.exp(x[i]));
  assert.ok(err <= REL_BOUND, `max rel err ${err} at x = ${x[at]}`);
  assert.equal(out[0], 1);
  // Below −708 the input is clamped: e^{−708} (still a tiny positive number, never 0 or NaN).
  const lo = new Float64Array([-750, -1e6]);
  N().btVec?.(0, lo, lo, 2);
  for (const v of lo) assert.ok(Math.abs(v - Math.exp(-708)) <= REL_BOUND * Math.exp(-708));
});

test(
  'native log1p(x), 0 ≤ x ≤ 1: within 4.5e-16 relative of Math.log1p (10⁶ random + edge cases)',
  { skip },
  () => {
    const rng = new Rng(12);
    const edges = [
      5e-324,
      1e-300,
      1e-17,
      2 ** -53,
      2 ** -52,
      1e-8,
      Math.SQRT2 - 1,
      0.4142135623730951,
      0.5,
      1,
    ];
    const n = 1_000_000 + edges.length;
    const x = new Float64Array(n);
    x.set(edges);
    for (let i = edges.length; i < n; i++) x[i] = i % 2 ? rng.uniform() : 10 ** (-300 * rng.uniform());
    const out = new Float64Array(n);
    N().btVec?.(1, x, out, n);
    const { err, at } = maxRel(out, (i) => Math.log1p(x[i]));
    assert.ok(err <= REL_BOUND, `max rel err ${err} at x = ${x[at]}`);
    const zero = new Float64Array([0]);
    N().btVec?.(1, zero, zero, 1);
    assert.equal(zero[0], 0);
  },
);

/** Random BT data: n×d Δφ with labels drawn from σ(⟨θ*, Δφ⟩). */
function btData(n: number, d: number, seed: number, scale = 0.5) {
  const rng = new Rng(seed);
  const X = new Float64Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal() * scale;
  const t = new Float64Array(d).map(() => rng.normal() * (3 / Math.sqrt(d)));
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += X[i * d + j] * t[j];
    if (rng.uniform() > 1 / (1 + Math.exp(-z))) for (let j = 0; j < d; j++) X[i * d + j] = -X[i * d + j];
  }
  return { dphi: X, n, d };
}

/** Both solvers on the same problem: θ equal to 1e-9·max(1, ‖θ‖), the objective to 1e-12 relative. */
function assertSameFit(
  run: (o: MLEOptions) => ReturnType<typeof fitMLE>,
  opts: MLEOptions,
  what: string,
): void {
  const ts = withBackend('ts', () => run(opts));
  const nat = withBackend('native', () => run(opts));
  assert.ok(ts.converged && nat.converged, `${what}: converged ts=${ts.converged} native=${nat.converged}`);
  let norm = 0;
  for (const v of ts.theta) norm += v * v;
  const tolTheta = 1e-9 * Math.max(1, Math.sqrt(norm));
  for (let j = 0; j < ts.theta.length; j++)
    assert.ok(
      Math.abs(ts.theta[j] - nat.theta[j]) <= tolTheta,
      `${what}: θ[${j}] ts ${ts.theta[j]} native ${nat.theta[j]}`,
    );
  assert.ok(
    Math.abs(ts.negLogLik - nat.negLogLik) <= 1e-12 * Math.abs(ts.negLogLik),
    `${what}: L ts ${ts.negLogLik} native ${nat.negLogLik}`,
  );
  assert.ok(Math.abs(ts.mu - nat.mu) <= 1e-8 * Math.max(1, ts.mu), `${what}: μ ts ${ts.mu} native ${nat.mu}`);
}

test(
  'native Newton = TypeScript Newton: d = 1…40 (unrolled, tiled d = 32, generic and dsyrk Hessians), λ = 1 and 1e-3',
  { skip },
  () => {
    for (const [n, d] of [
      [50, 1],
      [300, 3],
      [1000, 4],
      [999, 8],
      [2000, 12],
      [777, 16],
      [1500, 20],
      [600, 40],
      [1501, 32],
    ]) {
      const data = btData(n, d, 100 + d);
      for (const lambda of [1, 1e-3])
        assertSameFit((o) => fitMLE(data, o), { lambda, tol: 1e-12 }, `n=${n} d=${d} λ=${lambda}`);
    }
  },
);

test(
  'native Newton = TypeScript: separable data (λ keeps it finite), large margins, the norm bound',
  { skip },
  () => {
    // Perfectly separable: every row has ⟨θ*, Δφ⟩ > 0 with big margins (σ saturates, e^{−|z|} ≈ 1e-40).
    const d = 5;
    const sep = btData(400, d, 7, 20);
    const theta = new Float64Array(d).fill(1);
    for (let i = 0; i < sep.n; i++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += sep.dphi[i * d + j] * theta[j];
      if (z < 0) for (let j = 0; j < d; j++) sep.dphi[i * d + j] = -sep.dphi[i * d + j];
    }
    assertSameFit((o) => fitMLE(sep, o), { lambda: 0.1, tol: 1e-12 }, 'separable');
    // Active norm bound (the μ search calls the solver repeatedly, warm-started).
    const data = btData(800, 6, 8);
    const free = withBackend('ts', () => fitMLE(data, { lambda: 1e-3 }));
    let norm = 0;
    for (const v of free.theta) norm += v * v;
    const B = 0.5 * Math.sqrt(norm);
    assertSameFit((o) => fitMLE(data, o), { lambda: 1e-3, normBound: B, tol: 1e-12 }, 'norm bound');
    const nb = fitMLE(data, { lambda: 1e-3, normBound: B });
    let nn = 0;
    for (const v of nb.theta) nn += v * v;
    assert.ok(Math.abs(Math.sqrt(nn) - B) <= 1e-8 * B, `‖θ‖ = ${Math.sqrt(nn)}, B = ${B}`);
    assert.ok(nb.mu > 0);
  },
);

test(
  'native Newton = TypeScript on grouped pairs (repeated (context, {a, b}): counts and orientation)',
  { skip },
  () => {
    const env = generateEnv({ d: 6, K: 5, nContexts: 40, normB: 2, refTemperature: 1, eta: 1, seed: 3 });
    const rng = new Rng(4);
    const oracle = new PreferenceOracle(env, env.thetaStar as Float64Array, rng.fork('o'));
    const mu = behaviourPolicy(env, 'good');
    const pairs = samplePairs(env, mu, mu, 20_000, oracle, rng); // 40 contexts × 15 unordered pairs: heavy repeats
    assertSameFit((o) => fitMLE(env, pairs, o), { lambda: 1, tol: 1e-12 }, 'grouped');
    // And the grouped fit equals the ungrouped one on the same pairs (sufficient statistics are exact).
    const flat = { dphi: featureDiffs(env, pairs), n: pairs.context.length, d: env.d };
    const a = fitMLE(env, pairs, { lambda: 1, tol: 1e-12 });
    const b = fitMLE(flat, { lambda: 1, tol: 1e-12 });
    for (let j = 0; j < env.d; j++) assert.ok(Math.abs(a.theta[j] - b.theta[j]) <= 1e-9, `θ[${j}]`);
  },
);

test(
  'native Newton split over 2 threads gives the same θ as one thread (4-row and dsyrk Hessians)',
  { skip },
  () => {
    const nat = N();
    for (const [n, d] of [
      [5000, 8],
      [3000, 20],
    ]) {
      const data = btData(n, d, 21 + d);
      const one = fitMLE(data, { lambda: 1, tol: 1e-12 });
      nat.setBtThreadMinWork?.(0);
      try {
        const two = fitMLE(data, { lambda: 1, tol: 1e-12 });
        for (let j = 0; j < d; j++)
          assert.ok(
            Math.abs(one.theta[j] - two.theta[j]) <= 1e-10,
            `d=${d} θ[${j}] ${one.theta[j]} vs ${two.theta[j]}`,
          );
      } finally {
        nat.setBtThreadMinWork?.(2e6);
      }
    }
  },
);

test(
  'btNewton validates its arguments (RangeError or TypeError naming the argument; nothing written)',
  { skip },
  () => {
    const nat = N();
    const bt = nat.btNewton;
    assert.ok(bt);
    const X = new Float64Array(12);
    const th = new Float64Array(3);
    const g = new Float64Array(3);
    const H = new Float64Array(9);
    const L = new Float64Array(9);
    const info = new Float64Array(6);
    assert.throws(
      () => bt(X, 5, 3, null, null, 1, th, 10, 1e-8, g, H, L, info),
      /btNewton: X has length 12, needs at least 15/,
    );
    assert.throws(
      () => bt(X, 4, 3, new Float64Array(4), null, 1, th, 10, 1e-8, g, H, L, info),
      /cnt and neg must both be null/,
    );
    assert.throws(
      () => bt(X, 4, 3, null, null, 1, th, 10, 1e-8, g, new Float64Array(8), L, info),
      /H has length 8/,
    );
    assert.throws(() => bt(X, 4, 3, null, null, -1, th, 10, 1e-8, g, H, L, info), /ridge >= 0/);
    assert.deepEqual(Array.from(th), [0, 0, 0]);
  },
);
