/**
 * Regression tests: `pref export` used to write files that `pref import` then refused
 * (empty input, chosen == rejected, unknown fields, empty strings), accepted duplicate JSON keys,
 * and let `Cannot read properties of undefined` reach the user on a corrupt stage pairs.json.
 * `.JSONL` (uppercase) was read as plain text by `lm sft`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readExamples } from '../../src/nn/data.js';
import { readPairsFile, readStagePairs } from '../../src/pref/data.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('pref export --in refuses what pref import would refuse, names file/line/field, writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-export-'));
  try {
    const cases: [string, string, RegExp][] = [
      ['empty.jsonl', '', /empty\.jsonl: empty file \(no preference rows\)/],
      [
        'same.jsonl',
        '{"prompt":"P","chosen":"a","rejected":"a"}\n',
        /same\.jsonl:1: chosen and rejected are identical/,
      ],
      [
        'unknown.jsonl',
        '{"prompt":"P","chosen":"a","rejected":"b","id":1}\n',
        /unknown\.jsonl:1: unknown field\(s\) "id"/,
      ],
      [
        'blank.jsonl',
        '{"prompt":"P","chosen":"","rejected":"b"}\n',
        /blank\.jsonl:1: field "chosen": expected a non-empty response/,
      ],
      [
        'dup.jsonl',
        '{"prompt":"P","chosen":"a","chosen":"c","rejected":"b"}\n',
        /dup\.jsonl:1: duplicate key "chosen" in one object/,
      ],
      [
        'hh.jsonl',
        '{"chosen":"\\n\\nHuman: Q\\n\\nAssistant: a","rejected":"\\n\\nHuman: Q\\n\\nAssistant: b"}\n',
        /hh\.jsonl:1: field "prompt": required in the standard layout/,
      ],
    ];
    for (const [name, text, re] of cases) {
      writeFileSync(join(dir, name), text);
      assert.throws(() => readPairsFile(join(dir, name)), re, name);
      const r = spawnSync(process.execPath, [main, 'pref', 'export', '--in', name, '--out', 'out.jsonl'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(r.status, 1, name);
      assert.match(r.stderr, re, name);
      assert.doesNotMatch(r.stderr, /Cannot read properties|at .*\.js:\d+/, 'no internal error text');
      assert.ok(!existsSync(join(dir, 'out.jsonl')), `${name}: nothing written`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pref export --run/--stage: a corrupt pairs.json names file, item and field (no TypeError)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-export-'));
  try {
    const stage = join(dir, 'run/stages/seed0/pool');
    mkdirSync(stage, { recursive: true });
    const file = join(stage, 'pairs.json');
    writeFileSync(
      file,
      '[{"prompt":"P","chosen":{"text":"a"},"rejected":{"text":"b"}},{"prompt":"P","chosen":{"text":"a"}}]',
    );
    assert.throws(
      () => readStagePairs(join(dir, 'run'), 'seed0/pool'),
      /pairs\.json item 1: field "rejected": .*expected object/,
    );
    writeFileSync(file, '{"not":"an array"}');
    assert.throws(
      () => readStagePairs(join(dir, 'run'), 'seed0/pool'),
      /pairs\.json: expected a JSON array of pairs/,
    );
    writeFileSync(file, '[{"prompt":"P","prompt":"Q","chosen":{"text":"a"},"rejected":{"text":"b"}}]');
    assert.throws(
      () => readStagePairs(join(dir, 'run'), 'seed0/pool'),
      /pairs\.json:1: duplicate key "prompt"/,
    );
    writeFileSync(file, '[{"prompt":"P","chosen":{"text":"a"},"rejected":{"text":"b"}}]');
    assert.deepEqual(readStagePairs(join(dir, 'run'), 'seed0/pool'), [
      { prompt: 'P', chosen: 'a', rejected: 'b' },
    ]);
    writeFileSync(file, '[{"prompt":"P","chosen":{}}]');
    const r = spawnSync(
      process.execPath,
      [main, 'pref', 'export', '--run', 'run', '--stage', 'seed0/pool', '--out', 'o.jsonl'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pairs\.json item 0: field "chosen\.text"/);
    assert.doesNotMatch(r.stderr, /Cannot read properties/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an uppercase .JSONL extension is read as JSONL, not as plain text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-export-'));
  try {
    const f = join(dir, 'DATA.JSONL');
    writeFileSync(f, '{"prompt":"P","response":" r"}\n{"text":"doc"}\n');
    assert.deepEqual(readExamples(f), [
      { kind: 'pair', prompt: 'P', response: ' r', line: 1 },
      { kind: 'text', text: 'doc', line: 2 },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
