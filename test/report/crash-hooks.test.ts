import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashHooksFromEnv } from '../../src/report/crash-hooks.js';

test('crashHooksFromEnv: no variable, no hook', () => {
  assert.deepEqual(
    crashHooksFromEnv({}, () => assert.fail('killed')),
    {},
  );
});

test('crashHooksFromEnv: each hook fires exactly at the point the environment names', () => {
  const kills: string[] = [];
  let at = '';
  const h = crashHooksFromEnv(
    { GSHF_CRASH_AFTER_LABELS: '3', GSHF_CRASH_AFTER_STEP: 'it2/train', GSHF_CRASH_AFTER_SFT_STEP: '5' },
    () => kills.push(at),
  );
  for (const n of [1, 2, 3]) {
    at = `label ${n}`;
    h.afterLabel?.(n);
  }
  for (const s of ['it1/train', 'it2/sample', 'it2/train']) {
    at = s;
    h.afterStep?.(s);
  }
  for (const s of [4, 5, 6]) {
    at = `sft ${s}`;
    h.afterSftStep?.(s);
  }
  assert.deepEqual(kills, ['label 3', 'it2/train', 'sft 5']);
});

test('crashHooksFromEnv: a count that is not a positive integer is an input error naming the variable', () => {
  assert.throws(
    () => crashHooksFromEnv({ GSHF_CRASH_AFTER_LABELS: '0' }),
    /GSHF_CRASH_AFTER_LABELS: expected a positive integer, got "0"/,
  );
  assert.throws(() => crashHooksFromEnv({ GSHF_CRASH_AFTER_SFT_STEP: '2.5' }), /GSHF_CRASH_AFTER_SFT_STEP/);
});
