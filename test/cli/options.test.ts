import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int, num, oneOf, path } from '../../src/cli/options.js';
import { GshfInputError } from '../../src/math/errors.js';

test('flag parsers accept valid values and name the flag and value otherwise', () => {
  assert.equal(num('lambda', { min: 0 })('0'), 0);
  assert.equal(num('eta', { above: 0, max: 1 })('1'), 1);
  assert.equal(int('seeds', { min: 1 })('3'), 3);
  assert.equal(oneOf('coverage', ['good', 'poor'] as const)('poor'), 'poor');
  const bad: [() => unknown, string][] = [
    [() => num('lambda', { min: 0 })('-1'), '--lambda: expected a number ≥ 0, got "-1"'],
    [() => num('B')('1e309'), '--B: expected a number, got "1e309"'],
    [() => num('B')(''), '--B: expected a number, got ""'],
    [() => num('eta', { above: 0 })('0'), '--eta: expected a number > 0, got "0"'],
    [() => num('p', { min: 0, max: 1 })('1.5'), '--p: expected a number ≥ 0 and ≤ 1, got "1.5"'],
    [() => int('seeds', { min: 1 })('2.5'), '--seeds: expected an integer ≥ 1, got "2.5"'],
    [() => int('n')('1e20'), '--n: expected an integer ≥ 0, got "1e20"'],
    [
      () => oneOf('coverage', ['good', 'poor'] as const)('bad'),
      '--coverage: expected one of good, poor, got "bad"',
    ],
    [() => path('out')(' '), '--out: expected a path, got " "'],
    [() => path('env', { mustExist: true })('/no/such'), '--env: /no/such: no such file or directory'],
  ];
  for (const [f, msg] of bad)
    assert.throws(f, (e: unknown) => e instanceof GshfInputError && e.message === msg, msg);
});
