/**
 * The SFT entry point: a run stopped (or SIGKILLed) and resumed ends with bitwise the same weights
 * and the same per-step metrics as an uninterrupted run; checkpoint folders are not overwritten
 * without --force; a resume with other settings is refused naming the setting; a data set too small
 * to split is refused instead of reporting a NaN validation loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusToJsonl, generateReviewCorpus } from '../../src/nn/corpus.js';
import { loadCheckpoint } from '../../src/nn/checkpoint.js';
import {
  initSftModel,
  prepareSftData,
  runSft,
  SFT_STATE_FILE,
  type SftRunOptions,
} from '../../src/nn/sft-run.js';
import { ByteTokenizer } from '../../src/nn/tokenizer.js';

const MODEL = { vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'gshf-sftresume-'));
}

function options(data: string, out: string, extra: Partial<SftRunOptions> = {}): SftRunOptions {
  const { model, tokenizer } = initSftModel({ preset: MODEL, seed: 5 });
  return {
    data,
    out,
    model,
    tokenizer,
    steps: 12,
    batchSize: 4,
    accumulation: 2,
    lr: 3e-3,
    evalEvery: 5,
    valFraction: 0.1,
    seed: 5,
    checkpointEvery: 4,
    ...extra,
  };
}

/** metrics.jsonl without the wall-clock field. */
function metrics(dir: string): Record<string, number>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const rec = JSON.parse(l) as Record<string, number>;
      delete rec.elapsed_seconds;
      return rec;
    });
}

test('SFT stopped after 6 of 12 steps and resumed from its step-4 state equals the uninterrupted run', () => {
  const dir = tmp();
  try {
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, corpusToJsonl(generateReviewCorpus(60, 2)));
    const full = runSft(options(data, join(dir, 'full')));
    assert.equal(full.finished, true);
    assert.equal(existsSync(join(dir, 'full', SFT_STATE_FILE)), false, 'state removed at the end');

    const part = join(dir, 'part');
    const stopped = runSft(options(data, part, { stopAfter: 6 }));
    assert.deepEqual([stopped.finished, stopped.stepsRun], [false, 6]);
    assert.equal(existsSync(join(part, 'model.safetensors')), false, 'no checkpoint before the end');
    assert.equal(metrics(part).length, 6);
    const resumed = runSft(options(data, part, { resume: true }));
    assert.deepEqual([resumed.resumedFrom, resumed.stepsRun, resumed.finished], [4, 8, true]);

    const a = loadCheckpoint(join(dir, 'full')).model.params;
    const b = loadCheckpoint(part).model.params;
    assert.equal(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)), 0, 'bitwise-equal weights');
    const ma = metrics(join(dir, 'full'));
    assert.equal(ma.length, 12);
    assert.deepEqual(metrics(part), ma, 'identical per-step metrics (steps 5–6 recomputed, not duplicated)');
    assert.equal(ma.filter((m) => m.val_loss !== undefined).length, 3, 'validation at steps 5, 10, 12');
    assert.equal(resumed.valLoss, full.valLoss);
    assert.equal(resumed.initialValLoss, full.initialValLoss);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpoint folders: no overwrite without force; resume refuses other settings and finished runs', () => {
  const dir = tmp();
  try {
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, corpusToJsonl(generateReviewCorpus(40, 3)));
    const out = join(dir, 'ck');
    runSft(options(data, out, { steps: 4, checkpointEvery: 0 }));
    assert.throws(
      () => runSft(options(data, out, { steps: 4 })),
      /ck: already holds model\.safetensors, config\.json, metrics\.jsonl: pass --force to overwrite it, or --resume/,
    );
    assert.throws(
      () => runSft(options(data, out, { resume: true })),
      /holds a finished checkpoint and no sft-state\.safetensors: nothing to resume/,
    );
    const forced = runSft(options(data, out, { steps: 3, force: true, checkpointEvery: 0 }));
    assert.equal(forced.steps, 3);
    assert.equal(loadCheckpoint(out).config.meta.steps, 3);

    const part = join(dir, 'part');
    runSft(options(data, part, { steps: 8, stopAfter: 5 }));
    assert.throws(
      () => runSft(options(data, part, { steps: 9, resume: true })),
      /sft-state\.safetensors: --resume with different settings: steps is 9 now but 8 in the interrupted run/,
    );
    assert.throws(
      () => runSft(options(data, part, { steps: 8, lr: 1e-3, resume: true })),
      /optimizer\.lr is 0\.001 now but 0\.003/,
    );
    assert.throws(
      () => runSft(options(data, join(dir, 'none'), { resume: true })),
      /no sft-state\.safetensors to resume from/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a single example cannot be split into train and validation: refused, or trained with valFraction 0', () => {
  const dir = tmp();
  try {
    const data = join(dir, 'one.jsonl');
    writeFileSync(data, '{"prompt":"Review of mug:","response":" Great mug."}\n');
    const tok = new ByteTokenizer();
    assert.throws(
      () => prepareSftData(tok, data, 32, 0.05, 0),
      /one\.jsonl: 1 sequence cannot be split into training and validation \(valFraction 0\.05\): use more data, or valFraction 0/,
    );
    const res = runSft(options(data, join(dir, 'ck'), { steps: 2, valFraction: 0, checkpointEvery: 0 }));
    assert.deepEqual([res.trainSequences, res.valSequences], [1, 0]);
    assert.ok(Number.isNaN(res.valLoss) && Number.isFinite(res.finalTrainLoss));
    assert.equal(loadCheckpoint(join(dir, 'ck')).config.meta.valLoss, null, 'no NaN in config.json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gshf lm sft killed (SIGKILL) mid-run, then --resume: the same checkpoint bytes as an uninterrupted run', () => {
  const dir = tmp();
  try {
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, corpusToJsonl(generateReviewCorpus(50, 4)));
    const cli = join(root, 'dist/src/cli/main.js');
    const sft = (out: string, extra: string[], crashAfter?: number) => {
      const env: NodeJS.ProcessEnv = { ...process.env, GSHF_QUIET: '1', GSHF_NO_NATIVE: '1' };
      if (crashAfter !== undefined) env.GSHF_CRASH_AFTER_SFT_STEP = String(crashAfter);
      else delete env.GSHF_CRASH_AFTER_SFT_STEP;
      const args = ['lm', 'sft', '--data', data, '--out', out, '--preset', 'tiny', '--steps', '10'];
      args.push('--batch', '4', '--eval-every', '4', '--seed', '2', '--checkpoint-every', '3', ...extra);
      return spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    };
    const full = sft(join(dir, 'full'), []);
    assert.equal(full.status, 0, full.stderr);
    const out = join(dir, 'killed');
    const killed = sft(out, [], 7);
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(existsSync(join(out, SFT_STATE_FILE)), true);
    const again = sft(out, []);
    assert.notEqual(again.status, 0);
    assert.match(
      again.stderr,
      /already holds .*sft-state\.safetensors.*pass --force to overwrite it, or --resume/,
    );
    const resumed = sft(out, ['--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /resumed from step 6; checkpoint:/);
    const w = (d: string) => readFileSync(join(d, 'model.safetensors'));
    assert.equal(Buffer.compare(w(join(dir, 'full')), w(out)), 0, 'identical model.safetensors');
    assert.deepEqual(metrics(out), metrics(join(dir, 'full')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two gshf lm sft on one --out: the second is refused while the first holds the folder', async () => {
  const dir = tmp();
  try {
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, corpusToJsonl(generateReviewCorpus(30, 6)));
    const cli = join(root, 'dist/src/cli/main.js');
    const out = join(dir, 'ck');
    const args = ['lm', 'sft', '--data', data, '--out', out, '--preset', 'tiny', '--batch', '2'];
    const env = { ...process.env, GSHF_QUIET: '1' };
    const first = spawn(process.execPath, [cli, ...args, '--steps', '1000000'], { env, stdio: 'ignore' });
    try {
      await waitFor(() => existsSync(join(out, '.lock')), 30_000);
      const second = spawnSync(process.execPath, [cli, ...args, '--steps', '5', '--resume'], {
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(second.status, 1);
      assert.match(second.stderr, new RegExp(`gshf: ${escape(out)} is in use by gshf pid ${first.pid}`));
      assert.equal(first.exitCode, null, 'the first run is still going');
    } finally {
      first.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
