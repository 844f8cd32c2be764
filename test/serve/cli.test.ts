/** `gshf lm serve` and `gshf pref serve-rm` as real processes on loopback (port 0), stopped by SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint } from '../../src/nn/checkpoint.js';
import { tinyLm, tinyRm } from './helpers.js';

const MAIN = 'dist/src/cli/main.js';

/** Starts the CLI, waits (≤ 20 s) for its "listening on <url>" line; returns the URL and a stopper. */
async function serve(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line in 20 s; stderr: ${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited with ${code}: ${err}`));
    });
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  return { url, stop };
}

test('lm serve and pref serve-rm start, answer, require the key, and stop cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-serve-cli-'));
  try {
    const { model, tokenizer } = tinyLm();
    saveCheckpoint(join(dir, 'lm'), model, tokenizer);
    const rm = tinyRm();
    rm.save(join(dir, 'rm'));

    const lm = await serve(
      ['lm', 'serve', '--model', join(dir, 'lm'), '--port', '0', '--api-key-env', 'GSHF_TEST_KEY'],
      {
        GSHF_TEST_KEY: 'abc',
      },
    );
    const models = await fetch(`${lm.url}/v1/models`, { headers: { authorization: 'Bearer abc' } });
    assert.equal(models.status, 200);
    assert.equal(((await models.json()) as { data: { id: string }[] }).data[0].id, 'lm'); // the folder name
    assert.equal((await fetch(`${lm.url}/v1/models`)).status, 401);
    assert.equal(await lm.stop(), 0);

    const srm = await serve(['pref', 'serve-rm', '--model', join(dir, 'rm'), '--port', '0']);
    const r = await fetch(`${srm.url}/get_reward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: ['ab'] }),
    });
    assert.deepEqual(((await r.json()) as { rewards: number[] }).rewards, Array.from(rm.score([''], ['ab'])));
    assert.equal(await srm.stop(), 0);

    // Refusals before anything starts: a missing key variable, an LM given as a reward model.
    const noKey = spawnSync(
      process.execPath,
      [MAIN, 'lm', 'serve', '--model', join(dir, 'lm'), '--api-key-env', 'GSHF_UNSET_VAR_X'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /--api-key-env: the environment variable GSHF_UNSET_VAR_X is not set/);
    const notRm = spawnSync(process.execPath, [MAIN, 'pref', 'serve-rm', '--model', join(dir, 'lm')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(notRm.status, 1);
    assert.match(notRm.stderr, /not a reward model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
