/**
 * Two `gshf lm reproduce --resume` on one run folder: the second is refused while the first holds
 * the folder's lock, so it pays no label (before the lock, both ran and 10 labels were paid twice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const cli = join(root, 'dist/src/cli/main.js');
const tiny = join(root, 'examples/lm/reproduce-tiny.yaml');

test('a second lm reproduce --resume on a folder in use is refused and pays no label', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-replock-'));
  try {
    const out = join(dir, 'run');
    const args = ['lm', 'reproduce', '--config', tiny, '--out', out];
    // The first run dies (SIGKILL) right after its 10th label: a run folder with a ledger to resume.
    const env = { ...process.env, GSHF_QUIET: '1' };
    const first = spawnSync(process.execPath, [cli, ...args], {
      env: { ...env, GSHF_CRASH_AFTER_LABELS: '10' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(first.signal, 'SIGKILL', first.stderr);
    const ledger = join(out, 'labels.jsonl');
    const ids = (): string[] =>
      readFileSync(ledger, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id);
    assert.equal(ids().length, 10);

    // Two resumes at once: A takes the (stale) lock and goes on; B is refused meanwhile.
    const a = spawn(process.execPath, [cli, ...args, '--resume'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let aErr = '';
    a.stderr.on('data', (c: Buffer) => (aErr += c.toString()));
    try {
      const lock = join(out, '.lock');
      await waitFor(() => existsSync(lock) && readFileSync(lock, 'utf8').includes(`"pid":${a.pid}`), 60_000);
      const b = spawnSync(process.execPath, [cli, ...args, '--resume'], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(a.exitCode, null, `A was still running while B tried: ${aErr}`);
      assert.equal(b.status, 1, b.stderr);
      assert.match(b.stderr, new RegExp(`gshf: ${escape(out)} is in use by gshf pid ${a.pid}`));
      assert.doesNotMatch(b.stderr, /resuming/, 'B never opened the ledger');
    } finally {
      if (a.exitCode === null && a.signalCode === null) {
        const exited = new Promise((res) => a.on('exit', res));
        a.kill('SIGKILL');
        await exited;
      }
    }
    assert.match(aErr, /taking over the lock of gshf pid \d+ .*no longer running/);
    const all = ids();
    assert.ok(all.length >= 10);
    assert.equal(new Set(all).size, all.length, 'no query id twice');
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
