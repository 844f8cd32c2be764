import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadCheckpoint,
  saveCheckpoint,
  readCheckpointConfig,
  encodeSafetensors,
  parseSafetensorsHeader,
} from '../../src/nn/checkpoint.js';
import { GPT } from '../../src/nn/model.js';
import { BPETokenizer, ByteTokenizer } from '../../src/nn/tokenizer.js';
import { randomModel } from './helpers.js';

const CFG = { vocabSize: 259, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 };
const FIXTURE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../test/nn/fixtures/tiny-bpe-tokenizer.json',
);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'gshf-ck-'));
}

test('save → load gives bit-identical parameters and logits', () => {
  const dir = tmp();
  try {
    const m = randomModel(CFG, 3);
    saveCheckpoint(dir, m, new ByteTokenizer(), { note: 'test' });
    const { model, tokenizer, config } = loadCheckpoint(dir);
    assert.deepEqual(model.config, m.config);
    assert.equal(tokenizer.vocabSize, 259);
    assert.equal(config.meta.note, 'test');
    assert.ok(Buffer.from(model.params.buffer).equals(Buffer.from(m.params.buffer)));
    const toks = Int32Array.from([256, 72, 105, 33, 10, 20, 30, 40]);
    const a = m.forwardLogits(toks, 2, 4).slice();
    const b = model.forwardLogits(toks, 2, 4).slice();
    assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), 'logits bit-exact');
    // header is 8-byte aligned and the file parses with our reader
    const buf = readFileSync(join(dir, 'model.safetensors'));
    const { entries, dataStart } = parseSafetensorsHeader(buf, 'f');
    assert.equal(dataStart % 8, 0);
    assert.equal(entries.size, m.tensors.length);
    assert.deepEqual(entries.get('transformer.h.1.mlp.c_fc.weight')?.shape, [64, 16]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LM checkpoint loads as a scalar reward model (trunk copied, fresh head); BPE tokenizer travels with it', () => {
  const dir = tmp();
  try {
    const tok = BPETokenizer.fromFile(FIXTURE);
    const m = randomModel({ ...CFG, vocabSize: tok.vocabSize }, 4);
    saveCheckpoint(dir, m, tok);
    assert.equal(readCheckpointConfig(dir).tokenizer.type, 'bpe');
    const { model, tokenizer } = loadCheckpoint(dir, { head: 'scalar', seed: 1 });
    assert.equal(model.config.head, 'scalar');
    assert.deepEqual(tokenizer.encode('hello world'), [259, 264]);
    const wte = model.tensor('transformer.wte.weight');
    assert.ok(wte);
    assert.deepEqual(
      model.params.subarray(wte.offset, wte.offset + wte.size),
      m.params.subarray(wte.offset, wte.offset + wte.size),
    );
    const r = model.rewards({
      B: 1,
      T: 3,
      tokens: Int32Array.from([1, 2, 3]),
      lengths: Int32Array.from([3]),
    });
    assert.ok(Number.isFinite(r[0]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad checkpoints fail with messages naming the file and the field', () => {
  const dir = tmp();
  try {
    const m = new GPT(CFG, 1);
    saveCheckpoint(dir, m, new ByteTokenizer());
    const w = join(dir, 'model.safetensors');
    const c = join(dir, 'config.json');
    const good = readFileSync(w);
    const goodCfg = readFileSync(c, 'utf8');

    // truncated weights
    writeFileSync(w, good.subarray(0, good.length - 100));
    assert.throws(() => loadCheckpoint(dir), /model\.safetensors: truncated: tensor "[^"]+" ends at byte/);
    writeFileSync(w, good.subarray(0, 5));
    assert.throws(() => loadCheckpoint(dir), /model\.safetensors: truncated: 5 bytes/);
    writeFileSync(w, good.subarray(0, 40));
    assert.throws(() => loadCheckpoint(dir), /model\.safetensors: truncated or corrupt: header length/);

    // missing tensor / wrong shape / wrong dtype
    const other = new GPT({ ...CFG, nLayer: 1 }, 1);
    const d2 = tmp();
    saveCheckpoint(d2, other, new ByteTokenizer());
    copyFileSync(join(d2, 'model.safetensors'), w);
    assert.throws(
      () => loadCheckpoint(dir),
      /model\.safetensors: missing tensor "transformer\.h\.1\.ln_1\.weight"/,
    );
    const wide = new GPT({ ...CFG, nEmbd: 8 }, 1);
    saveCheckpoint(d2, wide, new ByteTokenizer());
    copyFileSync(join(d2, 'model.safetensors'), w);
    assert.throws(
      () => loadCheckpoint(dir),
      /model\.safetensors: tensor "transformer\.wte\.weight": shape \[259, 8\] does not match config\.json \(expected \[259, 16\]\)/,
    );
    rmSync(d2, { recursive: true, force: true });
    const f16 = encodeSafetensors(
      m.tensors.map((t) => ({ name: t.name, shape: t.shape, data: new Float32Array(t.size) })),
    );
    const text = Buffer.from(f16).toString('latin1').replace('"dtype":"F32"', '"dtype":"F16"');
    writeFileSync(w, Buffer.from(text, 'latin1'));
    assert.throws(() => loadCheckpoint(dir), /tensor "transformer\.wte\.weight": dtype F16, expected F32/);
    writeFileSync(w, good);

    // config problems
    writeFileSync(c, goodCfg.slice(0, 30));
    assert.throws(() => loadCheckpoint(dir), /config\.json: invalid JSON/);
    const cfg = JSON.parse(goodCfg) as { model: Record<string, unknown> };
    writeFileSync(c, JSON.stringify({ ...cfg, model: { ...cfg.model, nHead: 3 } }));
    assert.throws(
      () => loadCheckpoint(dir),
      /config\.json: invalid checkpoint config: model\.nEmbd: nEmbd must be divisible by nHead/,
    );
    writeFileSync(c, JSON.stringify({ ...cfg, model: { ...cfg.model, nLayer: 'four' } }));
    assert.throws(() => loadCheckpoint(dir), /config\.json: invalid checkpoint config: model\.nLayer/);
    const { vocabSize: _v, ...noVocab } = cfg.model;
    void _v;
    writeFileSync(c, JSON.stringify({ ...cfg, model: noVocab }));
    assert.throws(() => loadCheckpoint(dir), /config\.json: invalid checkpoint config: model\.vocabSize/);
    rmSync(c);
    assert.throws(() => loadCheckpoint(dir), /config\.json: cannot read checkpoint config \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint with NaN or Infinity weights is refused on load, naming file, tensor and index', () => {
  const dir = tmp();
  try {
    const m = new GPT(CFG, 1);
    const t = m.tensor('transformer.h.1.mlp.c_fc.weight')!;
    m.params[t.offset + 37] = NaN;
    m.params[t.offset + 40] = Infinity;
    saveCheckpoint(dir, m, new ByteTokenizer());
    assert.throws(
      () => loadCheckpoint(dir),
      /model\.safetensors: tensor "transformer\.h\.1\.mlp\.c_fc\.weight": element 37 is NaN \(2 of \d+ elements are not finite\)/,
    );
    m.params[t.offset + 37] = 0;
    m.params[t.offset + 40] = 0;
    m.params[m.tensor('transformer.wte.weight')!.offset] = -Infinity;
    saveCheckpoint(dir, m, new ByteTokenizer());
    assert.throws(() => loadCheckpoint(dir), /tensor "transformer\.wte\.weight": element 0 is -Infinity/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
