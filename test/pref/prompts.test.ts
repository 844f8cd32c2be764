import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusPrompts, dedupePrompts, readPrompts, splitPrompts } from '../../src/pref/prompts.js';

const pool = Array.from({ length: 100 }, (_, i) => `Review of item${i}:`);

test('dedupePrompts keeps first occurrences, exact match', () => {
  assert.deepEqual(dedupePrompts(['a', 'b', 'a', 'a ', 'b']), ['a', 'b', 'a ']);
});

test('splitPrompts: disjoint, right sizes, seeded, test set stable under T/m changes', () => {
  const s = splitPrompts([...pool, ...pool], {
    iterations: 3,
    perIteration: 10,
    validation: 8,
    test: 12,
    seed: 1,
  });
  assert.equal(s.poolSize, 100);
  assert.deepEqual(
    s.iterations.map((x) => x.length),
    [10, 10, 10],
  );
  assert.equal(s.validation.length, 8);
  assert.equal(s.test.length, 12);
  const all = [...s.iterations.flat(), ...s.validation, ...s.test, ...s.unused];
  assert.equal(new Set(all).size, 100);
  assert.equal(all.length, 100);
  // offline defaults to the union of the iteration sets, disjoint from validation and test
  assert.deepEqual(s.offline, s.iterations.flat());
  const same = splitPrompts(pool, { iterations: 3, perIteration: 10, validation: 8, test: 12, seed: 1 });
  assert.deepEqual(same, s);
  const other = splitPrompts(pool, { iterations: 3, perIteration: 10, validation: 8, test: 12, seed: 2 });
  assert.notDeepEqual(other.test, s.test);
  const bigger = splitPrompts(pool, { iterations: 5, perIteration: 12, validation: 8, test: 12, seed: 1 });
  assert.deepEqual(bigger.test, s.test);
  assert.deepEqual(bigger.validation, s.validation);
  const off = splitPrompts(pool, {
    iterations: 2,
    perIteration: 5,
    validation: 8,
    test: 12,
    offline: 40,
    seed: 1,
  });
  assert.equal(off.offline.length, 40);
  assert.deepEqual(off.offline.slice(0, 10), off.iterations.flat());
  for (const p of off.offline) assert.ok(!off.test.includes(p) && !off.validation.includes(p));
});

test('splitPrompts: clear errors when the pool is too small or sizes are invalid', () => {
  assert.throws(
    () =>
      splitPrompts(pool.slice(0, 48), { iterations: 3, perIteration: 16, validation: 8, test: 16, seed: 0 }),
    /pool has 48 distinct prompts but the split needs 72 \(iterations 3×16 = 48, validation 8, test 16\)/,
  );
  assert.throws(
    () =>
      splitPrompts(pool, { iterations: 1, perIteration: 1, validation: 0, test: 90, offline: 11, seed: 0 }),
    /offline set of 11/,
  );
  assert.throws(
    () => splitPrompts(pool, { iterations: 1.5, perIteration: 1, validation: 0, test: 0, seed: 0 }),
    /iterations must be/,
  );
});

test('readPrompts: jsonl (extra fields ignored) and plain text; errors name file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-prompts-'));
  try {
    const j = join(dir, 'p.jsonl');
    writeFileSync(j, '{"prompt":"A:","response":"x"}\n\n{"prompt":"B:"}\n{"prompt":"A:"}\n');
    assert.deepEqual(readPrompts(j), ['A:', 'B:']);
    const t = join(dir, 'p.txt');
    writeFileSync(t, 'A:\r\nB:\n\nA:\n');
    assert.deepEqual(readPrompts(t), ['A:', 'B:']);
    writeFileSync(j, '{"prompt":"A:"}\n{"prompt":3}\n');
    assert.throws(
      () => readPrompts(j),
      /p\.jsonl:2: field "prompt": expected a non-empty string or a list of messages, got 3/,
    );
    writeFileSync(j, '{"prompt":"A:"}\n{bad\n');
    assert.throws(() => readPrompts(j), /p\.jsonl:2: invalid JSON/);
    const arr = join(dir, 'p.json');
    writeFileSync(arr, '["A:", {"prompt": "B:"}, "A:"]');
    assert.deepEqual(readPrompts(arr), ['A:', 'B:']);
    writeFileSync(arr, '["A:", 3]');
    assert.throws(() => readPrompts(arr), /p\.json item 1: expected a non-empty string/);
    writeFileSync(j, '\n');
    assert.throws(() => readPrompts(j), /no prompts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corpusPrompts: the built-in corpus has 624 distinct prompts "Review of [<qualifier>] <product>:"', () => {
  const ps = corpusPrompts();
  // 48 products × (12 neutral qualifiers + none)
  assert.equal(ps.length, 624);
  for (const p of ps) assert.match(p, /^Review of ([a-z]+ )?[a-z]+:$/);
});
