import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { acquireRunLock, readRunLock } from '../../src/report/lock.js';
import { RunDir } from '../../src/report/run-dir.js';
import { GshfLockError } from '../../src/math/errors.js';

const lockModule = new URL('../../src/report/lock.js', import.meta.url).href;

/** Starts a second process that takes the lock of `dir`, prints "locked" and waits. */
async function holder(dir: string) {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { acquireRunLock } from ${JSON.stringify(lockModule)};
       acquireRunLock(${JSON.stringify(dir)});
       process.stdout.write('locked\\n');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  while (!out.includes('locked')) {
    const [chunk] = (await Promise.race([once(child.stdout, 'data'), once(child, 'exit')])) as [string];
    if (child.exitCode !== null) throw new Error('holder exited early');
    out += chunk;
  }
  return child;
}

/** A PID that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

test('a second process is refused while the first holds the lock; released on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-lock-'));
  const child = await holder(dir);
  try {
    const info = readRunLock(dir);
    assert.equal(info?.pid, child.pid);
    assert.throws(
      () => acquireRunLock(dir),
      (e: unknown) =>
        e instanceof GshfLockError &&
        e.message.includes(`${dir} is in use by gshf pid ${child.pid} (started ${info?.started})`) &&
        e.message.includes(`remove ${join(dir, '.lock')} if that process is gone`),
    );
    assert.throws(() => new RunDir(dir), GshfLockError);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  assert.equal(existsSync(join(dir, '.lock')), false, 'the signal handler removed the lock');
  const lock = acquireRunLock(dir);
  assert.equal(readRunLock(dir)?.pid, process.pid);
  lock.release();
  assert.equal(readRunLock(dir), null);
});

test('a lock left by a killed process (SIGKILL: no cleanup) is taken over with a message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-lock-'));
  const child = await holder(dir);
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(readRunLock(dir)?.pid, child.pid, 'SIGKILL leaves the lock behind');
  const lines: string[] = [];
  const lock = acquireRunLock(dir, { log: (l) => lines.push(l) });
  assert.equal(readRunLock(dir)?.pid, process.pid);
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`taking over the lock of gshf pid ${child.pid} .*no longer running`));
  lock.release();
});

test('stale lock by a dead PID on this host is taken over; another host is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-lock-'));
  const pid = deadPid();
  const stale = { pid, hostname: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'x' };
  writeFileSync(join(dir, '.lock'), JSON.stringify(stale));
  const lines: string[] = [];
  acquireRunLock(dir, { log: (l) => lines.push(l) }).release();
  assert.equal(lines.length, 1);

  writeFileSync(join(dir, '.lock'), JSON.stringify({ ...stale, hostname: 'elsewhere' }));
  assert.throws(
    () => acquireRunLock(dir),
    new RegExp(`in use by gshf pid ${pid} on host elsewhere \\(started 2026-01-01`),
  );
  assert.ok(existsSync(join(dir, '.lock')), 'a foreign lock is left alone');
});

test('the lock is re-entrant within one process and removed after the last release', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gshf-lock-'));
  const a = acquireRunLock(dir);
  const b = new RunDir(dir);
  a.release();
  assert.equal(readRunLock(dir)?.pid, process.pid, 'still held by the RunDir');
  b.release();
  b.release(); // idempotent
  assert.equal(readRunLock(dir), null);
});
