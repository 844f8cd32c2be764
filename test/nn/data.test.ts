import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeDocument, encodePair, encodePairIds, makeBatch, readExamples } from '../../src/nn/data.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';

const tok = new ByteTokenizer();

test('encodePair: BOS prompt response EOS, mask on response + EOS only, truncation', () => {
  const e = encodePair(tok, 'ab', 'cd', 64);
  assert.deepEqual(e.ids, [256, 97, 98, 99, 100, 257]);
  assert.equal(e.responseStart, 3);
  const b = makeBatch([e, encodePair(tok, 'x', 'y', 64)], tok.pad);
  assert.equal(b.T, 6);
  assert.deepEqual(Array.from(b.mask), [0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(b.tokens.slice(6)), [256, 120, 121, 257, 258, 258]);
  assert.deepEqual(Array.from(b.lengths), [6, 4]);
  // long prompt: left-truncated so at least one response token fits
  const long = encodePair(tok, 'p'.repeat(100), 'r', 8);
  assert.equal(long.ids.length, 8);
  assert.equal(long.ids[0], 256);
  assert.equal(long.responseStart, 7);
  assert.equal(long.ids[7], 114);
});

test('encodeDocument chunks long text; readExamples validates lines with file:line', () => {
  const chunks = encodeDocument(tok, 'x'.repeat(20), 8);
  assert.equal(chunks.length, 3);
  assert.equal(chunks.flatMap((c) => c.ids).length, 22);
  const dir = mkdtempSync(join(tmpdir(), 'gshf-data-'));
  try {
    const f = join(dir, 'd.jsonl');
    writeFileSync(f, '{"prompt":"a","response":"b"}\n\n{"text":"hello"}\n');
    assert.deepEqual(readExamples(f), [
      { kind: 'pair', prompt: 'a', response: 'b', line: 1 },
      { kind: 'text', text: 'hello', line: 3 },
    ]);
    // the extension is matched case-insensitively: a .JSONL file is JSONL, not plain text
    const upper = join(dir, 'D.JSONL');
    writeFileSync(upper, '{"prompt":"a","response":"b"}\n');
    assert.deepEqual(readExamples(upper), [{ kind: 'pair', prompt: 'a', response: 'b', line: 1 }]);
    writeFileSync(f, '{"prompt":"a","response":"b"}\n{"prompt":1}\n');
    assert.throws(() => readExamples(f), /d\.jsonl:2: expected \{"prompt": string/);
    writeFileSync(f, '{"prompt":"a",\n');
    assert.throws(() => readExamples(f), /d\.jsonl:1: invalid JSON/);
    const t = join(dir, 'plain.txt');
    writeFileSync(t, 'para one\nstill one\n\npara two\n');
    assert.deepEqual(readExamples(t), [
      { kind: 'text', text: 'para one\nstill one' },
      { kind: 'text', text: 'para two' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encodePairIds keeps sampled byte sequences exact (no decode → encode round trip)', () => {
  const cut = tok.encode('🙂').slice(0, 3); // invalid UTF-8 on its own
  const e = encodePairIds(tok, [65, 66], cut, 64, false);
  assert.deepEqual(e.ids, [256, 65, 66, ...cut]);
  assert.equal(e.responseStart, 3);
  assert.notDeepEqual(tok.encode(tok.decode(cut)), cut);
});
