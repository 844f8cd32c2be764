/** Samplers: best/worst with ties, RSO acceptance (χ²), pairs from accepted samples, uncertainty pairs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { ByteTokenizer, GPT } from '../../src/nn/index.js';
import { rewardModelFromScratch, scoreResponses } from '../../src/pref/reward-model.js';
import {
  bestWorstPair,
  featureCovariance,
  pairsFromAccepted,
  rejectionAcceptProbs,
  rejectionSample,
  rejectionSampleIndices,
  rewardFeatures,
  sampleResponses,
  sequentialRejectionSample,
  uncertaintyPair,
} from '../../src/pref/sampling.js';

test('bestWorstPair: argmax/argmin with first-index tie-breaking; ties and identical texts dropped', () => {
  assert.deepEqual(bestWorstPair(['a', 'b', 'c', 'd'], [1, 3, 3, 0]), {
    chosen: 'b',
    rejected: 'd',
    chosenIndex: 1,
    rejectedIndex: 3,
  });
  assert.deepEqual(bestWorstPair(['a', 'b', 'c'], [0, 2, 0]), {
    chosen: 'b',
    rejected: 'a',
    chosenIndex: 1,
    rejectedIndex: 0,
  });
  assert.equal(bestWorstPair(['a', 'b', 'c'], [2, 2, 2]), null); // all equal
  assert.equal(bestWorstPair(['same', 'x', 'same'], [5, 3, 1]), null); // best and worst are the same text
  assert.equal(bestWorstPair(['a'], [1]), null);
  assert.throws(() => bestWorstPair(['a', 'b'], [1]), /scores/);
});

test('rejection sampling: acceptance exp((r − max r)/η); frequencies pass a χ² test on a 3-candidate case', () => {
  const eta = 0.5;
  const scores = [1, 1 - eta * Math.LN2, 1 - eta * Math.log(4)]; // p = 1, ½, ¼
  const p = rejectionAcceptProbs(scores, eta);
  assert.ok(Math.abs(p[0] - 1) < 1e-12 && Math.abs(p[1] - 0.5) < 1e-12 && Math.abs(p[2] - 0.25) < 1e-12);
  const rng = new Rng(41);
  const N = 20000;
  const counts = [0, 0, 0];
  for (let t = 0; t < N; t++) for (const i of rejectionSampleIndices(scores, eta, rng)) counts[i]++;
  assert.equal(counts[0], N); // the best is always accepted
  // χ² over the two random candidates (accept/reject cells), 2 dof; 13.8 is the 0.1% point
  let chi2 = 0;
  for (const i of [1, 2]) {
    const e1 = N * p[i];
    const e0 = N - e1;
    chi2 += (counts[i] - e1) ** 2 / e1 + (N - counts[i] - e0) ** 2 / e0;
  }
  assert.ok(chi2 < 13.8, `χ² = ${chi2}, counts ${counts}`);
  // the accepted candidates themselves, and a cap
  assert.deepEqual(rejectionSample(['a', 'b', 'c'], [0, -100, -100], 1, new Rng(1)), ['a']);
  for (let t = 0; t < 50; t++) assert.ok(rejectionSampleIndices([0, 0, 0, 0], 1, rng, 2).length === 2);
  assert.throws(() => rejectionAcceptProbs([0], 0), /eta/);
});

test('pairsFromAccepted: consecutive pairs labelled by score, ties dropped, odd sample unused', () => {
  const pairs = pairsFromAccepted(
    'P',
    ['a', 'b', 'c', 'd', 'e', 'e', 'f', 'g', 'h'],
    [1, 2, 5, 3, 1, 1, 4, 4, 9],
  );
  assert.deepEqual(pairs, [
    { prompt: 'P', chosen: 'b', rejected: 'a' },
    { prompt: 'P', chosen: 'c', rejected: 'd' },
  ]);
  const byScorer = pairsFromAccepted('P', ['xx', 'x'], (_p, r) => r.length);
  assert.deepEqual(byScorer, [{ prompt: 'P', chosen: 'xx', rejected: 'x' }]);
});

test('uncertaintyPair (ensemble): the pair with the largest std of the reward difference, by hand', () => {
  // members × responses; differences (0,1): [0,1,−1] std √(2/3); (0,2): [0,1,−3] std √(26/9); (1,2): [0,0,−2] std √(8/9)
  const E = [
    [0, 0, 0],
    [1, 0, 0],
    [-1, 0, 2],
  ];
  const r = uncertaintyPair(['a', 'b', 'c'], { ensemble: E });
  assert.ok(r);
  assert.equal(r.i, 0);
  assert.equal(r.j, 2);
  assert.ok(Math.abs(r.uncertainty - Math.sqrt(26 / 9)) < 1e-12);
  // identical texts are skipped; a constant shift across members has zero uncertainty
  assert.deepEqual(uncertaintyPair(['a', 'b', 'a'], { ensemble: E }), {
    i: 1,
    j: 2,
    uncertainty: Math.sqrt(8 / 9),
  });
  assert.equal(
    uncertaintyPair(['a', 'b'], {
      ensemble: [
        [0, 1],
        [5, 6],
      ],
    }),
    null,
  );
});

test('uncertaintyPair (Σ⁻¹ features) and featureCovariance', () => {
  // Σ = diag(1, 100): ‖φ0−φ1‖ = 1, ‖φ0−φ2‖ = 0.5, ‖φ1−φ2‖ = √1.25
  const S = featureCovariance([[0, 10]], 2, 1); // λI + (0,10)(0,10)ᵀ = diag(1, 101)
  assert.deepEqual(Array.from(S), [1, 0, 0, 101]);
  const sigma = [1, 0, 0, 100];
  const r = uncertaintyPair(['a', 'b', 'c'], {
    features: [
      [0, 0],
      [1, 0],
      [0, 5],
    ],
    sigma,
  });
  assert.ok(r);
  assert.deepEqual([r.i, r.j], [1, 2]);
  assert.ok(Math.abs(r.uncertainty - Math.sqrt(1.25)) < 1e-12);
});

const tok = new ByteTokenizer();
const SMALL = { vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };

test('sampleResponses: n strings per prompt, deterministic under a seed', () => {
  const gpt = new GPT(SMALL, 1);
  const a = sampleResponses(gpt, tok, ['Review of mug:', 'Review of hat:'], {
    n: 3,
    maxTokens: 8,
    seed: 4,
    temperature: 1,
  });
  const b = sampleResponses(gpt, tok, ['Review of mug:', 'Review of hat:'], {
    n: 3,
    maxTokens: 8,
    seed: 4,
    temperature: 1,
    maxBatch: 3,
  });
  assert.equal(a.length, 2);
  assert.equal(a[0].length, 3);
  assert.deepEqual(a, b);
  assert.ok(a.flat().every((s) => typeof s === 'string'));
  // mixed temperatures: 5 = 3 at T=1 + 2 greedy (the two greedy ones are identical)
  const m = sampleResponses(gpt, tok, ['Review of mug:'], {
    n: 5,
    maxTokens: 8,
    seed: 4,
    temperatures: [1, 0],
  });
  assert.equal(m[0].length, 5);
  assert.equal(m[0][3], m[0][4]);
});

test('rewardFeatures: the score head is linear in them (r = w·φ + b), and the head is restored', () => {
  const rm = rewardModelFromScratch(SMALL, 3);
  const prompts = ['Review of mug:', 'Review of hat:'];
  const responses = [' Great.', ' Awful, awful.'];
  const before = scoreResponses(rm, tok, prompts, responses);
  const F = rewardFeatures(rm, tok, prompts, responses);
  const w = rm.tensor('score_head.weight');
  const b = rm.tensor('score_head.bias');
  assert.ok(w && b);
  for (let k = 0; k < 2; k++) {
    let r = rm.params[b.offset];
    for (let c = 0; c < 16; c++) r += rm.params[w.offset + c] * F[k][c];
    assert.ok(Math.abs(r - before[k]) < 1e-5, `${r} vs ${before[k]}`);
  }
  assert.deepEqual(Array.from(scoreResponses(rm, tok, prompts, responses)), Array.from(before));
  // after an update of the RM the features follow it (the twin re-copies the trunk)
  const wte = rm.tensor('transformer.wte.weight');
  assert.ok(wte);
  for (let i = 0; i < wte.size; i++) rm.params[wte.offset + i] *= 1.5;
  const after = scoreResponses(rm, tok, prompts, responses);
  const F2 = rewardFeatures(rm, tok, prompts, responses);
  let r0 = rm.params[b.offset];
  for (let c = 0; c < 16; c++) r0 += rm.params[w.offset + c] * F2[0][c];
  assert.ok(Math.abs(r0 - after[0]) < 1e-5);
  // vocabulary smaller than the width: the probing fallback, same identity r = w·φ + b
  const narrow = rewardModelFromScratch({ vocabSize: 12, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, 5);
  const digits = {
    vocabSize: 12,
    bos: 10,
    eos: 11,
    pad: 11,
    spec: { type: 'byte' },
    encode: (t: string) => Array.from(t, (ch) => ch.charCodeAt(0) % 10),
    decode: () => '',
  };
  const dtok = digits as unknown as typeof tok;
  const Fn = rewardFeatures(narrow, dtok, ['ab', 'abc'], ['cd', 'e']);
  const rn = scoreResponses(narrow, dtok, ['ab', 'abc'], ['cd', 'e']);
  const wn = narrow.tensor('score_head.weight');
  const bn = narrow.tensor('score_head.bias');
  assert.ok(wn && bn);
  for (let k = 0; k < 2; k++) {
    let r = narrow.params[bn.offset];
    for (let c = 0; c < 16; c++) r += narrow.params[wn.offset + c] * Fn[k][c];
    assert.ok(Math.abs(r - rn[k]) < 1e-5, `${r} vs ${rn[k]}`);
  }
  assert.deepEqual(Array.from(scoreResponses(narrow, dtok, ['ab', 'abc'], ['cd', 'e'])), Array.from(rn)); // head restored
});

test('sequentialRejectionSample: always min(k, n) distinct indices; top-k as η → 0; uniform as η → ∞', () => {
  const scores = [0.1, 0.5, 0.3, 0.9];
  assert.deepEqual(sequentialRejectionSample(scores, 1e-9, new Rng('a'), 2), [1, 3]);
  assert.deepEqual(sequentialRejectionSample(scores, 0.05, new Rng('b'), 10), [0, 1, 2, 3]);
  const counts = [0, 0, 0, 0];
  const rng = new Rng('c');
  for (let i = 0; i < 4000; i++) counts[sequentialRejectionSample(scores, 1e9, rng, 1)[0]]++;
  for (const c of counts) assert.ok(Math.abs(c / 4000 - 0.25) < 0.03, `uniform: ${counts.join(', ')}`);
});

test('sequentialRejectionSample: k = 1 of two candidates, p(accept the lower) = ½ → it is drawn with probability ¼', () => {
  // Candidate 1 scores η·ln ½ below the maximum: accepted with probability ½ when visited first
  // (probability ½); the maximum is accepted whenever it is visited before an acceptance.
  const eta = 0.3;
  const scores = [0, eta * Math.log(0.5)];
  const rng = new Rng('d');
  let ones = 0;
  const N = 8000;
  for (let i = 0; i < N; i++) if (sequentialRejectionSample(scores, eta, rng, 1)[0] === 1) ones++;
  assert.ok(Math.abs(ones / N - 0.25) < 0.02, `share of index 1: ${ones / N}`);
});
