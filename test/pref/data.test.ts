import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chatToPromptText,
  pairsToTrlRows,
  parseTrlJsonl,
  readPromptResponses,
  readTrlJsonl,
  writePromptResponses,
  writeTrlJsonl,
  type ScoredPair,
} from '../../src/pref/data.js';

// Compiled to dist/test/pref/; fixtures stay in the source tree.
const fixtures = fileURLToPath(new URL('../../../test/fixtures/pref/', import.meta.url));
const fx = (name: string) => join(fixtures, name);

const expected: ScoredPair[] = [
  { prompt: 'Review of mug:', chosen: ' Love it! Good value.', rejected: ' Broken on day one.' },
  { prompt: 'Review of lamp:', chosen: ' Works well.', rejected: ' Not good.', margin: 1.2 },
  {
    prompt: 'Review of kettle:',
    chosen: ' Perfect.',
    rejected: ' It is okay.',
    score_chosen: 0.6,
    score_rejected: 0,
  },
];

function withTmp(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-data-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('readTrlJsonl: standard fixture', () => {
  const r = readTrlJsonl(fx('prefs-standard.jsonl'));
  assert.equal(r.format, 'standard');
  assert.deepEqual(r.pairs, expected);
  assert.deepEqual(r.warnings, []);
});

test('readTrlJsonl: conversational fixture, explicit and implicit prompts, both templates', () => {
  const r = readTrlJsonl(fx('prefs-conversational.jsonl'));
  assert.equal(r.format, 'conversational');
  // 'content' template: contents joined by \n (a lone user turn is verbatim)
  assert.deepEqual(r.pairs.slice(0, 2), expected.slice(0, 2));
  assert.deepEqual(r.pairs[2], { ...expected[2], prompt: 'Be brief.\nReview of kettle:' });
  const roles = readTrlJsonl(fx('prefs-conversational.jsonl'), { template: 'roles' });
  assert.equal(roles.pairs[0].prompt, 'user: Review of mug:\nassistant:');
  assert.equal(roles.pairs[2].prompt, 'system: Be brief.\nuser: Review of kettle:\nassistant:');
  assert.equal(roles.pairs[2].chosen, ' Perfect.');
  assert.equal(chatToPromptText([{ role: 'user', content: 'hi' }], 'roles'), 'user: hi\nassistant:');
});

test('round trip: internal pairs → file → internal pairs, both formats; fixture → write → same bytes', () => {
  withTmp((dir) => {
    for (const format of ['standard', 'conversational'] as const) {
      const p = join(dir, `${format}.jsonl`);
      writeTrlJsonl(p, expected, { format });
      const back = readTrlJsonl(p);
      assert.equal(back.format, format);
      assert.deepEqual(back.pairs, expected);
    }
    // file → internal → file: the canonical standard fixture is reproduced byte for byte
    const std = join(dir, 'std.jsonl');
    writeTrlJsonl(std, readTrlJsonl(fx('prefs-standard.jsonl')).pairs, { format: 'standard' });
    assert.equal(readFileSync(std, 'utf8'), readFileSync(fx('prefs-standard.jsonl'), 'utf8'));
    // the conversational fixture (implicit prompts) re-exports with explicit prompts and reads back the same
    const conv = readTrlJsonl(fx('prefs-conversational.jsonl')).pairs;
    const c2 = join(dir, 'conv.jsonl');
    writeTrlJsonl(c2, conv, { format: 'conversational' });
    assert.deepEqual(readTrlJsonl(c2).pairs, conv);
    assert.equal(
      readFileSync(c2, 'utf8').split('\n')[0],
      readFileSync(fx('prefs-conversational.jsonl'), 'utf8').split('\n')[0],
    );
  });
});

test('pairsToTrlRows: shapes of both formats; extras only when present', () => {
  const pair = { prompt: 'P', chosen: 'a', rejected: 'b' };
  assert.deepEqual(pairsToTrlRows([pair], { format: 'standard' }), [pair]);
  assert.deepEqual(pairsToTrlRows([{ ...pair, margin: 2 }], { format: 'conversational' }), [
    {
      prompt: [{ role: 'user', content: 'P' }],
      chosen: [{ role: 'assistant', content: 'a' }],
      rejected: [{ role: 'assistant', content: 'b' }],
      margin: 2,
    },
  ]);
});

test('parseTrlJsonl: errors name file, line, field and value', () => {
  const bad = (text: string, re: RegExp, lenient = false) =>
    assert.throws(() => parseTrlJsonl(text, 'prefs.jsonl', { lenient }), re);
  const ok = '{"prompt":"P","chosen":"a","rejected":"b"}\n';
  bad('', /prefs\.jsonl: empty file/);
  bad('\n  \n', /prefs\.jsonl: empty file/);
  bad(ok + '{"prompt":"P",\n', /prefs\.jsonl:2: invalid JSON/);
  bad(ok + '[1,2]\n', /:2: expected a JSON object/);
  bad(
    ok + ok + ok + '{"prompt":"P","chosen":3,"rejected":"b"}\n',
    /^GshfInputError: prefs\.jsonl:4: field "chosen": expected a string or a list of messages, got 3$/,
  );
  // no layout fits the first row: the error lists every accepted layout
  bad(
    '{"prompt":"P","chosen":"a"}',
    /:1: field "rejected": expected a string or a list of messages, got nothing/,
  );
  bad(
    '{"instruction":"P","output":"a"}',
    /:1: unknown preference layout \(keys "instruction", "output"[^]*Accepted layouts:\n {2}standard: [^]*ultrafeedback: /,
  );
  bad(
    ok + '{"prompt":"P","chosen":"a"}',
    /:2: field "rejected": expected a string or a list of messages, got nothing/,
  );
  bad(
    '{"prompt":"P","chosen":[],"rejected":"b"}',
    /field "chosen": expected a string or a list of messages, got \[\]/,
  );
  bad('{"prompt":"","chosen":"a","rejected":"b"}', /field "prompt": expected a non-empty prompt/);
  bad('{"prompt":"P","chosen":"","rejected":"b"}', /field "chosen": expected a non-empty response/);
  bad(ok + '{"chosen":"a","rejected":"b"}', /:2: field "prompt": required in the standard layout/);
  bad(
    '{"chosen":"a","rejected":"b"}',
    /:1: field "chosen": no "prompt" and chosen\/rejected share no prefix/,
  );
  bad('{"prompt":"P","chosen":"a","rejected":"a"}', /:1: chosen and rejected are identical/);
  bad('{"prompt":"P","chosen":"a","rejected":"b","choosen":"x"}', /:1: unknown field\(s\) "choosen"/);
  bad(
    '{"prompt":"P","chosen":"a","rejected":"b","margin":"1"}',
    /field "margin": expected a finite number, got "1"/,
  );
  bad(
    ok + '{"prompt":"P","chosen":"a","rejected":[{"role":"assistant","content":"b"}]}',
    /:2: field "rejected": expected a string \(standard layout\)/,
  );
  bad(
    '{"prompt":[{"role":"user"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}',
    /field "prompt\[0\]\.content": expected a string content, got nothing/,
  );
  bad(
    '{"prompt":[{"role":"user","content":"P","name":"x"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}',
    /field "prompt\[0\]": unexpected key\(s\) "name"/,
  );
  bad(
    '{"prompt":[{"role":"user","content":"P"}],"chosen":[{"role":"user","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}',
    /field "chosen\[0\]\.role": expected "assistant"/,
  );
  bad(
    '{"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}',
    /no implicit prompt/,
  );
  bad(
    ok +
      '{"prompt":[{"role":"user","content":"P"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}',
    /:2: field "chosen": expected a string \(standard layout\)/,
  );
});

test('parseTrlJsonl: lenient mode ignores unknown fields and drops identical pairs, with warnings', () => {
  const text =
    '{"prompt":"P","chosen":"a","rejected":"b","id":7}\n' +
    '{"prompt":"P","chosen":"a","rejected":"a"}\n' +
    '{"chosen":[{"role":"user","content":"P"},{"role":"assistant","content":"x"}],"rejected":[{"role":"user","content":"P"},{"role":"assistant","content":"x"}]}\n';
  //:3 is conversational: mixing layouts is still an error in lenient mode
  assert.throws(
    () => parseTrlJsonl(text, 'f', { lenient: true }),
    /:3: field "chosen": expected a string \(standard layout\)/,
  );
  const r = parseTrlJsonl(text.split('\n').slice(0, 2).join('\n'), 'f', { lenient: true });
  assert.deepEqual(r.pairs, [{ prompt: 'P', chosen: 'a', rejected: 'b' }]);
  assert.deepEqual(r.warnings, [
    'f:1: ignored unknown field(s) "id"',
    'f:2: dropped, chosen and rejected are identical',
  ]);
  // identical conversational rows (the whole message list is shared) are dropped too; a file with nothing left is an error
  assert.throws(
    () => parseTrlJsonl(text.split('\n')[2], 'f', { lenient: true }),
    /f: no usable preference rows \(all 1 dropped\)/,
  );
  assert.throws(() => parseTrlJsonl(text.split('\n')[2], 'f'), /f:1: chosen and rejected are identical/);
});

test('readPromptResponses / writePromptResponses: extra fields ignored, errors name line and field, round trip', () => {
  const rows = readPromptResponses(fx('prompt-responses.jsonl'));
  assert.deepEqual(rows, [
    { prompt: 'Review of mug:', response: ' Love it!' },
    { prompt: 'Review of lamp:', response: '' },
  ]);
  withTmp((dir) => {
    const p = join(dir, 'pr.jsonl');
    writePromptResponses(p, rows);
    assert.deepEqual(readPromptResponses(p), rows);
    writeFileSync(p, '{"prompt":"A","response":"x"}\n{"prompt":"A"}\n');
    assert.throws(
      () => readPromptResponses(p),
      /pr\.jsonl:2: field "response": expected a string, got nothing/,
    );
    writeFileSync(p, '{"prompt":"","response":"x"}\n');
    assert.throws(() => readPromptResponses(p), /:1: field "prompt": expected a non-empty string/);
    writeFileSync(p, 'x\n');
    assert.throws(() => readPromptResponses(p), /:1: invalid JSON/);
    writeFileSync(p, '');
    assert.throws(() => readPromptResponses(p), /empty file/);
    assert.throws(() => readPromptResponses(join(dir, 'missing.jsonl')), /cannot read/);
  });
});
