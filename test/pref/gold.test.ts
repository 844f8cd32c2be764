import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GOLD_SCALE,
  GoldOracle,
  afinnScore,
  bradleyTerryProb,
  goldReward,
  goldScores,
} from '../../src/pref/gold.js';

test('goldReward: AFINN raw sum of the response / GOLD_SCALE, prompt ignored', () => {
  assert.equal(GOLD_SCALE, 5);
  assert.equal(afinnScore('great'), 3);
  assert.equal(afinnScore('great great great'), 9); // repetition keeps adding: the exploitable quirk
  assert.equal(afinnScore('GREAT'), 3); // case-insensitive
  assert.equal(afinnScore('not good'), -3); // negation flips the next scored word
  assert.equal(afinnScore('fooblarg'), 0); // unknown words score 0
  assert.equal(goldReward('Review of awful terrible mug:', ' Love it!'), 3 / 5);
  assert.deepEqual(goldScores(['x', 'y'], ['great', 'awful']), [3 / 5, -3 / 5]);
  assert.throws(() => goldScores(['x'], []), /1 prompts but 0 responses/);
});

test('bradleyTerryProb: σ(Δ/T), temperature 0 is the step with ½ on ties', () => {
  assert.ok(Math.abs(bradleyTerryProb(1, 0, 1) - 1 / (1 + Math.exp(-1))) < 1e-15);
  assert.ok(Math.abs(bradleyTerryProb(1, 0, 2) - 1 / (1 + Math.exp(-0.5))) < 1e-15);
  assert.equal(bradleyTerryProb(2, 2, 1), 0.5);
  assert.equal(bradleyTerryProb(3, 2, 0), 1);
  assert.equal(bradleyTerryProb(2, 3, 0), 0);
  assert.equal(bradleyTerryProb(2, 2, 0), 0.5);
  assert.throws(() => bradleyTerryProb(0, 0, -1), /temperature/);
});

test('GoldOracle: answers depend only on (seed, queryId), not on call order', () => {
  const o1 = new GoldOracle({ seed: 7 });
  const o2 = new GoldOracle({ seed: 7 });
  const ids = Array.from({ length: 50 }, (_, i) => `s/it1/p${i}`);
  const a1 = ids.map((id) => o1.compare('p', 'good', 'bad', id));
  const a2 = ids
    .slice()
    .reverse()
    .map((id) => o2.compare('p', 'good', 'bad', id))
    .reverse();
  assert.deepEqual(a1, a2);
  // asking again gives the same answer
  assert.equal(o1.compare('p', 'good', 'bad', ids[3]), a1[3]);
  // another seed gives a different answer sequence
  const o3 = new GoldOracle({ seed: 8 });
  assert.notDeepEqual(
    ids.map((id) => o3.compare('p', 'good', 'bad', id)),
    a1,
  );
});

test('GoldOracle: empirical preference rate matches the BT probability; T=0 is deterministic', () => {
  const o = new GoldOracle({ seed: 1, temperature: 1 });
  const p = o.probability('p', 'good', 'bad'); // r* = 0.6 vs -0.6 → σ(1.2)
  assert.ok(Math.abs(p - 1 / (1 + Math.exp(-1.2))) < 1e-12);
  let wins = 0;
  const N = 4000;
  for (let i = 0; i < N; i++) if (o.compare('p', 'good', 'bad', `q${i}`)) wins++;
  // binomial sd ≈ sqrt(p(1−p)/N) ≈ 0.0066; 4 sd tolerance
  assert.ok(Math.abs(wins / N - p) < 0.027, `rate ${wins / N} vs ${p}`);
  const d = new GoldOracle({ seed: 1, temperature: 0 });
  for (let i = 0; i < 100; i++) assert.equal(d.compare('p', 'good', 'bad', `q${i}`), true);
  assert.throws(() => new GoldOracle({ seed: 1, temperature: -1 }), /temperature/);
});
