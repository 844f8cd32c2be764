import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerLmCommands } from '../../src/cli/lm.js';
import { corpusToJsonl, generateReviewCorpus } from '../../src/nn/corpus.js';
import { saveCheckpoint } from '../../src/nn/checkpoint.js';
import { GPT } from '../../src/nn/model.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';

/** Runs `gshf lm …` in-process and returns what it printed to stdout. */
async function run(args: string[]): Promise<string> {
  const program = new Command();
  program.exitOverride();
  registerLmCommands(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((): boolean => true) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'gshf', 'lm', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
  return out;
}

test('lm sft → sample → score → info round trip on a small JSONL file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-lmcli-'));
  try {
    const data = join(dir, 'train.jsonl');
    writeFileSync(data, corpusToJsonl(generateReviewCorpus(200, 1)));
    const ck = join(dir, 'ck');
    const sft = await run([
      'sft',
      '--data',
      data,
      '--out',
      ck,
      '--preset',
      'tiny',
      '--steps',
      '8',
      '--batch',
      '4',
      '--eval-every',
      '4',
      '--seed',
      '3',
    ]);
    assert.match(sft, /val loss [\d.]+ → [\d.]+ nats\/token/);
    assert.ok(existsSync(join(ck, 'model.safetensors')) && existsSync(join(ck, 'config.json')));
    const s1 = await run([
      'sample',
      '--model',
      ck,
      '--prompt',
      'Review of mug:',
      '-n',
      '3',
      '--max-tokens',
      '5',
      '--seed',
      '2',
      '--json',
    ]);
    const lines = s1
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { prompt: string; response: string });
    assert.equal(lines.length, 3);
    assert.equal(lines[0].prompt, 'Review of mug:');
    const s2 = await run([
      'sample',
      '--model',
      ck,
      '--prompt',
      'Review of mug:',
      '-n',
      '3',
      '--max-tokens',
      '5',
      '--seed',
      '2',
      '--json',
    ]);
    assert.equal(s2, s1, 'seeded sampling is reproducible');
    // the tiny preset's context is 32 tokens: most reviews do not fit, and scoring refuses to cut silently
    await assert.rejects(
      run(['score', '--model', ck, '--data', data, '--batch', '16']),
      /train\.jsonl:\d+: \[BOS\] \+ \d+ prompt \+ \d+ response \+ EOS = \d+ tokens exceed the model's context of 32/,
    );
    await assert.rejects(
      run(['score', '--model', ck, '--data', data, '--truncate', 'middle']),
      /--truncate: expected one of left, right, got "middle"/,
    );
    const scored = await run(['score', '--model', ck, '--data', data, '--batch', '16', '--truncate', 'left']);
    const rows = scored
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; tokens: number; truncated: number });
    assert.equal(rows.length, 200);
    assert.ok(rows.every((r) => r.logprob < 0 && r.tokens > 0));
    assert.ok(rows.some((r) => r.truncated > 0) && rows.some((r) => r.truncated === 0));
    const info = JSON.parse(await run(['info', '--model', ck])) as {
      params: number;
      model: { nLayer: number };
      meta: { steps: number };
    };
    assert.equal(info.model.nLayer, 2);
    assert.equal(info.meta.steps, 8);
    // continue training from the checkpoint
    await run([
      'sft',
      '--data',
      data,
      '--out',
      join(dir, 'ck2'),
      '--init',
      ck,
      '--steps',
      '2',
      '--batch',
      '2',
    ]);
    assert.ok(existsSync(join(dir, 'ck2', 'model.safetensors')));
    await assert.rejects(
      run(['sft', '--data', data, '--out', ck, '--preset', 'huge']),
      /--preset: expected one of tiny, default, large, got "huge"/,
    );
    await assert.rejects(
      run(['sample', '--model', join(dir, 'nope'), '--prompt', 'a']),
      /nope\/config\.json: cannot read checkpoint config/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lm score / lm sample refuse a checkpoint with NaN weights (was: logprob null, exit 0)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-lmcli-nan-'));
  try {
    const m = new GPT({ vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 }, 1);
    m.params[m.tensor('transformer.h.0.attn.c_proj.weight')!.offset + 11] = NaN;
    const ck = join(dir, 'ck');
    saveCheckpoint(ck, m, new ByteTokenizer());
    const data = join(dir, 'p.jsonl');
    writeFileSync(data, '{"prompt":"a","response":"b"}\n');
    const bad = /ck\/model\.safetensors: tensor "transformer\.h\.0\.attn\.c_proj\.weight": element 11 is NaN/;
    await assert.rejects(run(['score', '--model', ck, '--data', data]), bad);
    await assert.rejects(run(['sample', '--model', ck, '--prompt', 'a']), bad);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
