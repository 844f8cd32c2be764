import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';

test('same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  const xb = Array.from({ length: 5 }, () => b.nextU32());
  const xc = Array.from({ length: 5 }, () => c.nextU32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

test('uniform has mean 1/2 and variance 1/12 (within 4 standard errors over 1e5 draws)', () => {
  const r = new Rng(7);
  const n = 100000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
  }
  const mean = s / n;
  const variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean - 0.5) < 4 * Math.sqrt(1 / 12 / n));
  assert.ok(Math.abs(variance - 1 / 12) < 0.002);
});

test('normal has mean 0 and variance 1', () => {
  const r = new Rng('normal');
  const n = 100000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 4 / Math.sqrt(n));
  assert.ok(Math.abs(s2 / n - 1) < 0.02);
});

test('categorical and categoricalLog match the target frequencies', () => {
  const r = new Rng(1);
  const p = [0.1, 0.6, 0.3];
  const logp = p.map(Math.log);
  const n = 60000;
  const c1 = [0, 0, 0];
  const c2 = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    c1[r.categorical(p)]++;
    c2[r.categoricalLog(logp)]++;
  }
  for (let k = 0; k < 3; k++) {
    const se = Math.sqrt((p[k] * (1 - p[k])) / n);
    assert.ok(Math.abs(c1[k] / n - p[k]) < 4 * se, `categorical ${k}`);
    assert.ok(Math.abs(c2[k] / n - p[k]) < 4 * se, `categoricalLog ${k}`);
  }
});

test('fork is deterministic and independent of the parent position', () => {
  const a = new Rng(5);
  const f1 = a.fork('x').nextU32();
  a.nextU32();
  const f2 = a.fork('x').nextU32();
  assert.equal(f1, f2);
  assert.notEqual(a.fork('x').nextU32(), a.fork('y').nextU32());
});

test('int rejects bad n and covers the range', () => {
  const r = new Rng(3);
  assert.throws(() => r.int(0), /positive integer/);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(r.int(5));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
});
