// The native bandit kernels against their TypeScript paths: the Δφ gather of fitMLE(env, pairs)
// (btGather) and the fused evaluateGibbsExact loop (evalGibbs). Skipped when the addon is unavailable,
// except under GSHF_EXPECT_NATIVE=1 (scripts/test.sh), where a missing kernel fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { loadNativeAddon, nativeLoadError, withBackend } from '../../src/native/index.js';
import { fitMLE } from '../../src/bandit/mle.js';
import {
  evaluateGibbsExact,
  evaluateGibbsExact as evaluateGibbs,
  type PolicyEvaluation,
} from '../../src/bandit/policy.js';
import { featureDiffs, validateEnv, type BanditEnv, type PairData } from '../../src/bandit/env.js';

const ops = loadNativeAddon();
const expected = process.env.GSHF_EXPECT_NATIVE === '1';
const available = ops?.btGather !== undefined && ops.evalGibbs !== undefined;
const skip: string | false =
  available || expected
    ? false
    : `native bandit kernels unavailable: ${nativeLoadError() ?? 'old addon build'}`;

test('the native bandit kernels are present when expected (GSHF_EXPECT_NATIVE=1)', { skip }, () => {
  assert.ok(available, `btGather/evalGibbs missing: ${nativeLoadError() ?? 'old addon build'}`);
});

/**
 * An environment with K_c actions in context c (K may vary), unit-ish random features, a random
 * normalised π0 (log π0 = −∞ where `zeroRef(c, a)`), random context weights (some exactly 0 when
 * `zeroWeights`), and θ* of norm ~normB.
 */
function makeEnv(
  seed: number,
  d: number,
  Ks: number[],
  eta: number,
  opts: { zeroRef?: (c: number, a: number) => boolean; zeroWeights?: boolean; normB?: number } = {},
): BanditEnv {
  const rng = new Rng(seed);
  const C = Ks.length;
  const offsets = new Int32Array(C + 1);
  for (let c = 0; c < C; c++) offsets[c + 1] = offsets[c] + Ks[c];
  const A = offsets[C];
  const features = new Float64Array(A * d);
  for (let i = 0; i < features.length; i++) features[i] = rng.normal() / Math.sqrt(d);
  const refLogprobs = new Float64Array(A);
  for (let c = 0; c < C; c++) {
    let m = -Infinity;
    for (let a = 0; a < Ks[c]; a++) {
      const v = opts.zeroRef?.(c, a) ? -Infinity : rng.normal();
      refLogprobs[offsets[c] + a] = v;
      m = Math.max(m, v);
    }
    let s = 0;
    for (let a = offsets[c]; a < offsets[c + 1]; a++) s += Math.exp(refLogprobs[a] - m);
    const z = m + Math.log(s);
    for (let a = offsets[c]; a < offsets[c + 1]; a++) refLogprobs[a] -= z;
  }
  const weights = new Float64Array(C);
  for (let c = 0; c < C; c++) weights[c] = opts.zeroWeights && c % 3 === 1 ? 0 : 0.1 + rng.uniform();
  const ws = weights.reduce((x, y) => x + y, 0);
  for (let c = 0; c < C; c++) weights[c] /= ws;
  const thetaStar = new Float64Array(d);
  for (let j = 0; j < d; j++) thetaStar[j] = ((opts.normB ?? 2) * rng.normal()) / Math.sqrt(d);
  const env: BanditEnv = {
    name: `t${seed}`,
    eta,
    d,
    nContexts: C,
    offsets,
    features,
    refLogprobs,
    weights,
    thetaStar,
  };
  validateEnv(env);
  return env;
}

const FIELDS: (keyof PolicyEvaluation)[] = [
  'jHat',
  'jStar',
  'klRef',
  'klStarRef',
  'klStarToHat',
  'rewardHat',
  'suboptimality',
  'gap',
];

/**
 * Native vs TS evaluation: every field within 1e-12 relative. suboptimality (and the gap) is a
 * difference of two J's, so its rounding scales with |J*| rather than with its own size.
 */
function assertSameEvaluation(env: BanditEnv, th: Float64Array, what: string): PolicyEvaluation {
  const A = env.offsets[env.nContexts];
  const lpN = new Float64Array(A);
  const lpT = new Float64Array(A);
  const n = evaluateGibbsExact(env, th, lpN);
  const t = withBackend('ts', () => evaluateGibbsExact(env, th, lpT));
  const scale = Math.max(Math.abs(t.jStar), Math.abs(t.jHat), 1e-300);
  for (const f of FIELDS) {
    const floor = f === 'suboptimality' || f === 'gap' ? scale : Math.abs(t[f]);
    assert.ok(
      Math.abs(n[f] - t[f]) <= 1e-12 * floor,
      `${what}: ${f} native ${n[f]} vs TS ${t[f]} (diff ${n[f] - t[f]})`,
    );
  }
  for (let a = 0; a < A; a++) {
    if (lpT[a] === -Infinity) {
      assert.equal(lpN[a], -Infinity, `${what}: log π̂[${a}]`);
      continue;
    }
    assert.ok(Math.abs(lpN[a] - lpT[a]) <= 1e-12 * Math.max(1, Math.abs(lpT[a])), `${what}: log π̂[${a}]`);
  }
  return t;
}

function randomTheta(env: BanditEnv, rng: Rng, scale: number): Float64Array {
  return env.thetaStar!.map((v) => 0.7 * v + (scale * rng.normal()) / Math.sqrt(env.d));
}

test(
  'evalGibbs equals the TS loop: hand-sized env, K = 2 and 3, π0 = 0 for one action, a zero weight',
  { skip },
  () => {
    // d = 3 (not a multiple of 4); context 1 has π0(a=2) = 0, so log π̂ = log π* = −∞ there.
    const env = makeEnv(1, 3, [2, 3, 3], 0.5, { zeroRef: (c, a) => c === 1 && a === 2, zeroWeights: true });
    const t = assertSameEvaluation(env, Float64Array.from([0.4, -1.1, 0.25]), 'hand');
    assert.ok(t.gap > 0 && Number.isFinite(t.gap));
    // θ̂ = θ*: zero gap on both paths (up to rounding).
    const e = evaluateGibbsExact(env, env.thetaStar!);
    assert.ok(Math.abs(e.gap) <= 1e-13 && e.suboptimality <= 1e-13, JSON.stringify(e));
  },
);

test('evalGibbs equals the TS loop on random envs (d = 1, 5, 8, 32; K varying per context)', { skip }, () => {
  const rng = new Rng(7);
  for (const [d, C, eta] of [
    [1, 9, 1],
    [5, 40, 0.3],
    [8, 100, 1],
    [32, 60, 2],
  ] as const) {
    const Ks = Array.from({ length: C }, () => 1 + Math.floor(rng.uniform() * 70));
    const env = makeEnv(10 + d, d, Ks, eta, { zeroRef: (c, a) => c % 7 === 3 && a === 0 && Ks[c] > 1 });
    for (const scale of [0, 0.5, 3])
      assertSameEvaluation(env, randomTheta(env, rng, scale), `d=${d} s=${scale}`);
  }
});

test('evalGibbs equals the TS loop: a single context, and a large env split over threads', { skip }, () => {
  const rng = new Rng(8);
  const one = makeEnv(20, 6, [17], 1);
  assertSameEvaluation(one, randomTheta(one, rng, 1), 'single context');
  // A·d ≥ 2^20 (the C side's threading threshold): 3000 contexts × ~45 actions × d = 12.
  const Ks = Array.from({ length: 3000 }, () => 20 + Math.floor(rng.uniform() * 50));
  const big = makeEnv(21, 12, Ks, 0.7, { zeroWeights: true });
  assert.ok(big.offsets[big.nContexts] * big.d >= 1 << 20);
  assertSameEvaluation(big, randomTheta(big, rng, 1), 'threaded');
});

test('evalGibbs equals the TS loop when π̂ underflows (tiny η: exp of < −708)', { skip }, () => {
  const rng = new Rng(9);
  const env = makeEnv(30, 4, [8, 16, 5, 30], 2e-3, { normB: 3 });
  // Rewards spread over ~1, divided by η = 2e-3: most logits sit far below −708 after the max shift.
  const th = randomTheta(env, rng, 1);
  const lp = new Float64Array(env.offsets[env.nContexts]);
  withBackend('ts', () => evaluateGibbsExact(env, th, lp));
  assert.ok(
    lp.some((v) => v < -708),
    'the case must exercise the underflow branch',
  );
  assertSameEvaluation(env, th, 'underflow');
});

test('evaluateGibbsExact rejects bad input on both paths with the same errors', { skip }, () => {
  const env = makeEnv(40, 3, [2, 4], 1);
  for (const backend of ['auto', 'ts'] as const) {
    const evaluateGibbsExact = (...a: Parameters<typeof evaluateGibbs>) =>
      withBackend(backend, () => evaluateGibbs(...a));
    assert.throws(() => evaluateGibbsExact(env, [1, 2], undefined), /length 2/);
    assert.throws(() => evaluateGibbsExact(env, [1, NaN, 0], undefined), /theta\[1\] is NaN/);
    assert.throws(
      () => evaluateGibbsExact(env, [1, 0, 0], new Float64Array(5)),
      /logpOut has 5 entries, the environment has 6 actions/,
    );
    // Finite θ whose logits overflow (θ·φ/η beyond float64): a non-finite log-normaliser.
    const tiny = { ...env, eta: 1e-10 };
    assert.throws(
      () => evaluateGibbsExact(tiny, [1e300, 1e300, 1e300], undefined),
      /context 0 has log-normaliser/,
    );
  }
});

function randomPairs(env: BanditEnv, n: number, rng: Rng): PairData {
  const p: PairData = { context: new Int32Array(n), chosen: new Int32Array(n), rejected: new Int32Array(n) };
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng.uniform() * env.nContexts);
    const K = env.offsets[c + 1] - env.offsets[c];
    p.context[i] = c;
    p.chosen[i] = Math.floor(rng.uniform() * K);
    p.rejected[i] = Math.floor(rng.uniform() * K);
  }
  return p;
}

test('btGather equals featureDiffs bit for bit (d = 1, 3, 4, 8, 13; K varying)', { skip }, () => {
  const nat = ops!;
  const rng = new Rng(50);
  for (const d of [1, 3, 4, 8, 13]) {
    const Ks = Array.from({ length: 30 }, () => 1 + Math.floor(rng.uniform() * 12));
    const env = makeEnv(50 + d, d, Ks, 1);
    const pairs = randomPairs(env, 500, rng);
    const out = new Float64Array(500 * d);
    const bad = nat.btGather!(
      env.features,
      env.offsets,
      pairs.context,
      pairs.chosen,
      pairs.rejected,
      d,
      500,
      out,
    );
    assert.equal(bad, -1);
    assert.deepEqual(out, featureDiffs(env, pairs));
    // The first out-of-range pair is reported: a context, then an action beyond K_c, then a negative one.
    for (const [field, i, v] of [
      ['context', 17, 30],
      ['chosen', 3, Ks[pairs.context[3]]],
      ['rejected', 0, -1],
    ] as const) {
      const bent = { ...pairs, [field]: pairs[field].slice() };
      bent[field][i] = v;
      assert.equal(
        nat.btGather!(env.features, env.offsets, bent.context, bent.chosen, bent.rejected, d, 500, out),
        i,
      );
    }
  }
  assert.throws(
    () =>
      nat.btGather!(
        new Float64Array(8),
        new Int32Array([0, 2]),
        new Int32Array(3),
        new Int32Array(3),
        new Int32Array(3),
        4,
        4,
        new Float64Array(16),
      ),
    /context has length 3, needs at least 4/,
  );
});

test(
  'fitMLE(env, pairs) with the native gather equals the TS path (θ, loss; d = 3, 5, 8, 32) and names bad pairs',
  { skip },
  () => {
    const rng = new Rng(60);
    for (const [d, n, lambda] of [
      [3, 300, 0.1],
      [8, 5000, 1],
      [5, 2000, 1e-3],
      [32, 3000, 1],
    ] as const) {
      const Ks = Array.from({ length: 50 }, () => 2 + Math.floor(rng.uniform() * 20));
      const env = makeEnv(60 + d, d, Ks, 1);
      const pairs = randomPairs(env, n, rng);
      // BT labels from θ*: swap chosen/rejected with probability σ(−margin).
      const D = featureDiffs(env, pairs);
      for (let i = 0; i < n; i++) {
        let z = 0;
        for (let j = 0; j < d; j++) z += D[i * d + j] * env.thetaStar![j];
        if (rng.uniform() > 1 / (1 + Math.exp(-z))) {
          const t = pairs.chosen[i];
          pairs.chosen[i] = pairs.rejected[i];
          pairs.rejected[i] = t;
        }
      }
      const nat = fitMLE(env, pairs, { lambda });
      const ts = withBackend('ts', () => fitMLE(env, pairs, { lambda }));
      const ref = withBackend('ts', () => fitMLE({ dphi: featureDiffs(env, pairs), n, d }, { lambda }));
      assert.ok(nat.converged && ts.converged);
      for (let j = 0; j < d; j++) {
        assert.ok(
          Math.abs(nat.theta[j] - ts.theta[j]) <= 1e-9 * Math.max(1, Math.abs(ts.theta[j])),
          `d=${d} θ[${j}]`,
        );
        // n = 5000 over 50 small contexts repeats pairs: the TS path groups them (same sums, reordered).
        assert.ok(Math.abs(ts.theta[j] - ref.theta[j]) <= 1e-9 * Math.max(1, Math.abs(ref.theta[j])));
      }
      assert.ok(Math.abs(nat.negLogLik - ts.negLogLik) <= 1e-10 * ts.negLogLik);
      // With a norm bound (the native solver is called repeatedly on the same gathered rows).
      const nb = fitMLE(env, pairs, { lambda, normBound: 0.5 });
      const tb = withBackend('ts', () => fitMLE(env, pairs, { lambda, normBound: 0.5 }));
      for (let j = 0; j < d; j++) assert.ok(Math.abs(nb.theta[j] - tb.theta[j]) <= 1e-8, `bounded θ[${j}]`);
    }
    const env = makeEnv(70, 4, [3, 5], 1);
    const pairs: PairData = {
      context: Int32Array.from([0, 1, 1]),
      chosen: Int32Array.from([0, 4, 1]),
      rejected: Int32Array.from([2, 0, 5]),
    };
    for (const backend of ['auto', 'ts'] as const)
      assert.throws(
        () => withBackend(backend, () => fitMLE(env, pairs, { lambda: 1 })),
        /fitMLE: pair 2: rejected action 5 is out of range \(context 1 has 5 actions\)/,
      );
  },
);
