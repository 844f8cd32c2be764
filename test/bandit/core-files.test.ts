import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateEnv } from '../../src/bandit/env.js';
import {
  DataFileError,
  envFromJson,
  envToJson,
  parseEnv,
  parsePairs,
  readEnvFile,
  readPairsFile,
  writeEnvFile,
  writePairsFile,
} from '../../src/bandit/files.js';
import { behaviourPolicy, generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { Rng } from '../../src/math/rng.js';
import { dropTies } from '../../src/bandit/env.js';

// Compiled to dist/test/bandit/; fixtures stay in the source tree.
const fixtures = fileURLToPath(new URL('../../../test/fixtures/bandit/', import.meta.url));
const fx = (name: string) => join(fixtures, name);
const tiny = readEnvFile(fx('tiny-env.json'));

/** Runs fn, expects a DataFileError, checks file/line/field and that the message matches every pattern. */
function expectError(
  fn: () => unknown,
  file: string,
  line: number | undefined,
  field: string | undefined,
  ...patterns: RegExp[]
): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DataFileError, `expected a DataFileError, got ${String(err)}`);
  assert.ok(err.message.includes(file), `message does not name the file: ${err.message}`);
  assert.equal(err.file.endsWith(file), true);
  assert.equal(err.line, line, `line in: ${err.message}`);
  assert.equal(err.field, field, `field in: ${err.message}`);
  if (line !== undefined) assert.match(err.message, new RegExp(`line ${line}\\b`));
  for (const p of patterns) assert.match(err.message, p);
}

test('tiny fixture loads with normalised π0 and weights', () => {
  validateEnv(tiny);
  assert.equal(tiny.name, 'tiny');
  assert.equal(tiny.d, 2);
  assert.deepEqual(Array.from(tiny.offsets), [0, 2, 5]);
  assert.deepEqual(Array.from(tiny.weights), [0.75, 0.25]);
  // ref_logprobs [0, 0] were unnormalised: they become log ½.
  assert.equal(tiny.refLogprobs[0], Math.log(0.5));
  assert.deepEqual(Array.from(tiny.thetaStar!), [1, -0.5]);
  const pairs = readPairsFile(fx('tiny-pairs.jsonl'), tiny); // has a blank line
  assert.deepEqual(Array.from(pairs.context), [0, 1, 1]);
  assert.deepEqual(Array.from(pairs.chosen), [0, 0, 2]);
  assert.deepEqual(Array.from(pairs.rejected), [1, 2, 1]);
});

test('env and pairs round-trip exactly through files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-files-'));
  try {
    const env = generateEnv({ d: 5, K: 4, nContexts: 7, normB: 2, refTemperature: 0.8, eta: 0.3, seed: 9 });
    env.weights = Float64Array.from([0.1, 0.2, 0.05, 0.15, 0.3, 0.1, 0.1]);
    const p = join(dir, 'env.json');
    writeEnvFile(p, env);
    const back = readEnvFile(p);
    assert.equal(back.name, env.name);
    assert.equal(back.eta, env.eta);
    assert.deepEqual(Array.from(back.offsets), Array.from(env.offsets));
    assert.deepEqual(Array.from(back.features), Array.from(env.features));
    assert.deepEqual(Array.from(back.refLogprobs), Array.from(env.refLogprobs));
    assert.deepEqual(Array.from(back.thetaStar!), Array.from(env.thetaStar!));
    for (let c = 0; c < 7; c++) assert.ok(Math.abs(back.weights[c] - env.weights[c]) < 1e-15);
    // envToJson → envFromJson is the same mapping without the file.
    assert.deepEqual(Array.from(envFromJson(envToJson(env)).features), Array.from(env.features));
    const mu = behaviourPolicy(env, 'good');
    const pairs = dropTies(
      samplePairs(env, mu, mu, 400, new PreferenceOracle(env, env.thetaStar!, new Rng(1)), new Rng(2)),
    );
    const q = join(dir, 'pairs.jsonl');
    writePairsFile(q, pairs);
    const pb = readPairsFile(q, back);
    assert.deepEqual(Array.from(pb.context), Array.from(pairs.context));
    assert.deepEqual(Array.from(pb.chosen), Array.from(pairs.chosen));
    assert.deepEqual(Array.from(pb.rejected), Array.from(pairs.rejected));
    // Ties cannot be written (the format rejects them on read).
    assert.throws(
      () =>
        writePairsFile(q, {
          context: Int32Array.of(0),
          chosen: Int32Array.of(1),
          rejected: Int32Array.of(1),
        }),
      /dropTies/,
    );
    // An env without theta_star round-trips as thetaStar = null.
    const noStar = { ...env, thetaStar: null };
    writeEnvFile(p, noStar);
    assert.equal(readEnvFile(p).thetaStar, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad env files: file, line and field in every message', () => {
  const env = (name: string) => () => readEnvFile(fx(name));
  expectError(
    env('bad-env-row-length.json'),
    'bad-env-row-length.json',
    12,
    'contexts[1].features[2]',
    /length 3, expected d = 2/,
  );
  expectError(
    env('bad-env-ref-length.json'),
    'bad-env-ref-length.json',
    6,
    'contexts[0].ref_logprobs',
    /3 entries.*K = 2/,
  );
  expectError(
    env('bad-env-nan.json'),
    'bad-env-nan.json',
    6,
    'contexts[0].ref_logprobs[1]',
    /NaN/,
    /column 27/,
  );
  expectError(
    env('bad-env-string.json'),
    'bad-env-string.json',
    7,
    'contexts[0].features[1][0]',
    /expected number/,
    /"abc"/,
  );
  expectError(
    env('bad-env-syntax.json'),
    'bad-env-syntax.json',
    7,
    'contexts[0]',
    /invalid JSON/,
    /column 5/,
  );
  expectError(env('bad-env-empty.json'), 'bad-env-empty.json', undefined, undefined, /empty/);
  expectError(env('bad-env-no-contexts.json'), 'bad-env-no-contexts.json', 3, 'contexts', /no contexts/);
  expectError(env('bad-env-theta.json'), 'bad-env-theta.json', 3, 'theta_star', /length 3, expected d = 2/);
  expectError(env('bad-env-eta.json'), 'bad-env-eta.json', 2, 'eta', />0/, /-1/);
  expectError(
    env('bad-env-unknown-field.json'),
    'bad-env-unknown-field.json',
    5,
    'contexts[1].ref_logprob',
    /unknown field "ref_logprob"/,
  );
  expectError(
    () => readEnvFile(fx('does-not-exist.json')),
    'does-not-exist.json',
    undefined,
    undefined,
    /cannot read/,
  );
});

test('bad pairs files: file, line and field in every message', () => {
  const pairs = (name: string) => () => readPairsFile(fx(name), tiny);
  expectError(
    pairs('bad-pairs-chosen.jsonl'),
    'bad-pairs-chosen.jsonl',
    3,
    'chosen',
    /unknown action 2/,
    /K = 2/,
  );
  expectError(pairs('bad-pairs-context.jsonl'), 'bad-pairs-context.jsonl', 2, 'context', /unknown context 5/);
  expectError(pairs('bad-pairs-same.jsonl'), 'bad-pairs-same.jsonl', 2, 'chosen', /same action/);
  expectError(
    pairs('bad-pairs-syntax.jsonl'),
    'bad-pairs-syntax.jsonl',
    4,
    undefined,
    /invalid JSON/,
    /column 28/,
  );
  expectError(pairs('bad-pairs-missing.jsonl'), 'bad-pairs-missing.jsonl', 1, 'rejected', /missing/);
  expectError(pairs('bad-pairs-float.jsonl'), 'bad-pairs-float.jsonl', 2, 'chosen', /int/, /1\.5/);
  expectError(
    pairs('bad-pairs-string.jsonl'),
    'bad-pairs-string.jsonl',
    1,
    'chosen',
    /expected number/,
    /"1"/,
  );
  expectError(pairs('bad-pairs-rejected.jsonl'), 'bad-pairs-rejected.jsonl', 1, 'rejected', />=0/, /-1/);
  expectError(pairs('bad-pairs-empty.jsonl'), 'bad-pairs-empty.jsonl', undefined, undefined, /no pairs/);
});

test('in-memory parsing: line numbers come from the text; envFromJson has paths but no lines', () => {
  const text =
    '{\n  "eta": 1,\n  "contexts": [\n    {"features": [[1, 2], [3]], "ref_logprobs": [0, 0]}\n  ]\n}\n';
  expectError(
    () => parseEnv(text, 'inline.json'),
    'inline.json',
    4,
    'contexts[0].features[1]',
    /expected d = 2/,
  );
  expectError(
    () => envFromJson({ eta: 1, contexts: [{ features: [[1, 2]], ref_logprobs: [0, 1] }] }, 'obj'),
    'obj',
    undefined,
    'contexts[0].ref_logprobs',
    /2 entries/,
  );
  expectError(
    () => parsePairs('{"context":0,"chosen":0,"rejected":1}\n[1,2,3]\n', 'p.jsonl', tiny),
    'p.jsonl',
    2,
    undefined,
    /expected an object/,
  );
  expectError(
    () => parsePairs('{"context":0,"chosen":0,"rejected":1,"y":1}', 'p.jsonl', tiny),
    'p.jsonl',
    1,
    'y',
    /unknown field/,
  );
});

test('a large pairs file parses in full (fast path)', () => {
  const lines: string[] = [];
  for (let i = 0; i < 100000; i++)
    lines.push(`{"context":${i % 2},"chosen":${i % 2},"rejected":${1 - (i % 2)}}`);
  const dir = mkdtempSync(join(tmpdir(), 'gshf-files-'));
  try {
    const p = join(dir, 'big.jsonl');
    writeFileSync(p, lines.join('\n') + '\n');
    // Timing lives in bench/, not in tests: here only correctness of the fast path.
    const pairs = readPairsFile(p, tiny);
    assert.equal(pairs.context.length, 100000);
    assert.deepEqual(
      [pairs.context[99999], pairs.chosen[99999], pairs.rejected[99999], pairs.chosen[4], pairs.rejected[4]],
      [1, 1, 0, 0, 1],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a UTF-8 byte-order mark and CRLF line endings are accepted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-files-'));
  try {
    const p = join(dir, 'bom.json');
    writeFileSync(p, '\uFEFF{"eta": 1, "contexts": [{"features": [[1], [2]], "ref_logprobs": [0, 0]}]}\r\n');
    assert.equal(readEnvFile(p).d, 1);
    const q = join(dir, 'crlf.jsonl');
    writeFileSync(
      q,
      '{"context": 0, "chosen": 1, "rejected": 0}\r\n{"context": 1, "chosen": 2, "rejected": 0}\r\n',
    );
    assert.deepEqual(Array.from(readPairsFile(q, tiny).chosen), [1, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
