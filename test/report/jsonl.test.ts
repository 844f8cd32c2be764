import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findDuplicateKey,
  isJsonlPath,
  parseJsonStrict,
  readJsonFile,
  readJsonl,
  TornLineError,
} from '../../src/report/jsonl.js';
import { writeFileAtomic } from '../../src/report/atomic.js';
import { RunDir } from '../../src/report/run-dir.js';
import { GshfInputError, GshfIoError } from '../../src/math/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'gshf-jsonl-'));

test('a torn last line is refused by default, and repaired (truncated, bytes reported) on request', () => {
  const f = join(tmp(), 'metrics.jsonl');
  const good = '{"key":"a","v":1}\n{"key":"b","v":2}\n';
  writeFileSync(f, good + '{"key":"c","v"');
  assert.throws(
    () => readJsonl(f),
    (e: unknown) =>
      e instanceof TornLineError &&
      e.line === 3 &&
      e.bytes === 14 &&
      e.message.startsWith(`${f}:3: incomplete last line (14 bytes`),
  );
  const r = readJsonl(f, { torn: 'repair' });
  assert.deepEqual(
    r.records.map((x) => x.value),
    [
      { key: 'a', v: 1 },
      { key: 'b', v: 2 },
    ],
  );
  assert.deepEqual(r.repaired, { line: 3, bytesDropped: 14 });
  assert.equal(readFileSync(f, 'utf8'), good, 'the fragment is gone, the next append starts a fresh line');
});

test('a complete last record without a newline is kept; repair adds the newline', () => {
  const f = join(tmp(), 'x.jsonl');
  writeFileSync(f, '{"a":1}\n{"a":2}');
  assert.equal(readJsonl(f).records.length, 2);
  const r = readJsonl(f, { torn: 'repair' });
  assert.equal(r.repaired, null);
  assert.equal(readFileSync(f, 'utf8'), '{"a":1}\n{"a":2}\n');
});

test('a bad line in the middle is an error with its line number, never skipped', () => {
  const f = join(tmp(), 'x.jsonl');
  // The pre-fix failure: a resume appended onto a torn fragment, gluing two records on line 2.
  writeFileSync(f, '{"a":1}\n{"a":{"a":2}\n\n{"a":3}\n');
  for (const torn of ['refuse', 'repair'] as const)
    assert.throws(
      () => readJsonl(f, { torn }),
      (e: unknown) => e instanceof GshfInputError && e.message.startsWith(`${f}:2: invalid JSON`),
    );
});

test('duplicate keys are refused with the field path and line', () => {
  const f = join(tmp(), 'x.jsonl');
  writeFileSync(f, '{"a":1}\n{"prompt":"p","chosen":"x","chosen":"y"}\n');
  assert.throws(
    () => readJsonl(f),
    new RegExp(`: ${f}:2: duplicate key "chosen" in one object .*\\(field "chosen"\\)$`),
  );
  assert.deepEqual(findDuplicateKey('{"a":{"b":[1,{"c":1,"d":{"c":2},"c":3}]}}'), {
    key: 'c',
    pos: 32,
    path: 'a.b[1].c',
  });
  // Escapes are decoded before comparing; equal-looking keys in different objects are fine.
  assert.equal(findDuplicateKey('{"a":1,"\\u0061":2}')?.key, 'a');
  assert.equal(findDuplicateKey('{"a":{"a":1},"b":[{"a":1},{"a":2}],"s":"{\\"a\\":1,\\"a\\":2}"}'), null);
  assert.throws(() => parseJsonStrict('{\n "x": 1,\n "x": 2\n}', 'c.json'), /: c\.json:3: duplicate key "x"/);
});

test('strict JSON files: syntax errors name the file and line; empty files are refused', () => {
  const d = tmp();
  writeFileSync(join(d, 'a.json'), '{\n  "x": 1,\n  "y": \n}\n');
  assert.throws(
    () => readJsonFile(join(d, 'a.json')),
    new RegExp(`: ${d}/a.json:4: invalid JSON \\(expected a value, got .}.\\)`),
  );
  writeFileSync(join(d, 'b.json'), '  \n');
  assert.throws(() => readJsonFile(join(d, 'b.json')), /b\.json: empty file, expected JSON/);
  assert.throws(() => readJsonFile(join(d, 'none.json')), /none\.json: cannot read the file: no such file/);
});

test('isJsonlPath ignores letter case', () => {
  assert.equal(isJsonlPath('a/B.JSONL'), true);
  assert.equal(isJsonlPath('a/b.Jsonl'), true);
  assert.equal(isJsonlPath('a/b.json'), false);
  assert.equal(isJsonlPath('a/jsonl'), false);
});

test('RunDir.readMetrics refuses or repairs a torn last line', () => {
  const dir = new RunDir(tmp());
  dir.appendMetric({ key: 'a', v: 1 });
  dir.appendMetric({ key: 'b', v: 2 });
  writeFileSync(dir.metricsPath, readFileSync(dir.metricsPath, 'utf8') + '{"key":"c","v"');
  assert.throws(() => dir.readMetrics(), TornLineError);
  const r = dir.readMetrics({ repair: true });
  assert.deepEqual(r.records, [
    { key: 'a', v: 1 },
    { key: 'b', v: 2 },
  ]);
  assert.equal(r.repaired?.bytesDropped, 14);
  dir.appendMetric({ key: 'c', v: 3 });
  assert.equal(dir.readMetrics().records.length, 3);
  dir.release();
});

test('writeFileAtomic replaces whole files; a full disk is one GshfIoError line naming the file', () => {
  const f = join(tmp(), 'a.txt');
  writeFileAtomic(f, 'one');
  writeFileAtomic(f, 'two');
  assert.equal(readFileSync(f, 'utf8'), 'two');
  // /dev/full answers every write with ENOSPC; appending a metric to it must not leak a stack.
  const dir = new RunDir(tmp());
  (dir as unknown as { metricsPath: string }).metricsPath = '/dev/full';
  assert.throws(
    () => dir.appendMetric({ a: 1 }),
    (e: unknown) =>
      e instanceof GshfIoError &&
      e.message === '/dev/full: cannot append to: no space left on the device (ENOSPC)',
  );
  dir.release();
});
