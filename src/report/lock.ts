/**
 * An exclusive lock on a run folder, so two processes never write one folder at once (two
 * `--resume`s would both run every job, or pay for the same labels twice).
 *
 * The lock is the file `<dir>/.lock` holding `{pid, hostname, started, command}`. It is created
 * atomically (written to a private temporary name, then hard-linked to `.lock`, which fails if the
 * name exists, like O_EXCL, but never exposes a half-written lock). A lock left behind by a process
 * that died (same host, PID no longer alive) is taken over with a message; a lock held by a live
 * process, or by any process on another host (whose PID we cannot check), is refused with a
 * `GshfLockError` naming the holder. The lock is released by `release()`, and on exit, SIGINT,
 * SIGTERM and SIGHUP.
 *
 * Within one process the lock is re-entrant: acquiring a folder this process already holds
 * returns another handle (the folder is released when every handle is released or at exit).
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { GshfLockError, ioError, errnoCode } from '../math/errors.js';

export const LOCK_FILE = '.lock';

export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time the holder took the lock. */
  started: string;
  /** The holder's command line. */
  command: string;
}

export interface RunLock {
  /** The lock file. */
  readonly path: string;
  /** Releases this handle (idempotent). */
  release(): void;
}

export interface AcquireOptions {
  /** Told when a stale lock (dead holder on this host) is taken over. Default: stderr. */
  log?: (line: string) => void;
}

interface Held {
  lockPath: string;
  content: string;
  handles: number;
}

const held = new Map<string, Held>();
let handlersInstalled = false;

/** Takes the lock of run folder `dir` (created if missing), or throws `GshfLockError`. */
export function acquireRunLock(dir: string, opts: AcquireOptions = {}): RunLock {
  const key = resolve(dir);
  const existing = held.get(key);
  if (existing) {
    existing.handles++;
    return handle(key, existing);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, dir, 'create the run folder');
  }
  const lockPath = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    hostname: hostname(),
    started: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  const content = JSON.stringify(info) + '\n';
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(dir, lockPath, content)) {
      const h: Held = { lockPath, content, handles: 1 };
      held.set(key, h);
      installHandlers();
      return handle(key, h);
    }
    const holder = readHolder(lockPath);
    if (holder === 'gone') continue; // released between our attempt and the read: try again
    if (holder !== null && !isStale(holder)) throw new GshfLockError(inUseMessage(dir, lockPath, holder));
    if (takeOver(lockPath, holder))
      log(
        holder === null
          ? `${lockPath}: unreadable lock file replaced`
          : `${dir}: taking over the lock of gshf pid ${holder.pid} (started ${holder.started}), which is no longer running`,
      );
  }
  throw new GshfLockError(`${dir}: could not take the lock ${lockPath} (other processes keep taking it)`);
}

/** Who holds the lock of `dir`, or null if nobody does. */
export function readRunLock(dir: string): LockInfo | null {
  const h = readHolder(join(dir, LOCK_FILE));
  return h === 'gone' ? null : h;
}

function handle(key: string, h: Held): RunLock {
  let released = false;
  return {
    path: h.lockPath,
    release() {
      if (released) return;
      released = true;
      if (--h.handles > 0) return;
      held.delete(key);
      removeIfOurs(h);
    },
  };
}

function tryCreate(dir: string, lockPath: string, content: string): boolean {
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    writeFileSync(tmp, content, { flag: 'wx' });
    linkSync(tmp, lockPath);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw ioError(e, lockPath, 'create the lock file');
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The holder's info; null for an unreadable (corrupt) lock; 'gone' if the file vanished. */
function readHolder(lockPath: string): LockInfo | null | 'gone' {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return 'gone';
    throw ioError(e, lockPath, 'read the lock file');
  }
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (typeof o.pid === 'number' && typeof o.hostname === 'string')
      return {
        pid: o.pid,
        hostname: o.hostname,
        started: String(o.started ?? '?'),
        command: String(o.command ?? ''),
      };
  } catch {
    // fall through
  }
  return null;
}

/** Same host and the PID is not running. A lock from another host is never stale to us. */
function isStale(h: LockInfo): boolean {
  if (h.hostname !== hostname()) return false;
  if (h.pid === process.pid) return false; // ours, from a handle released without removal: treat as live
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return errnoCode(e) === 'ESRCH';
  }
}

/**
 * Moves the stale lock aside atomically (only one racer's rename succeeds), checks that what it
 * moved is the stale lock it inspected, and deletes it. Returns true if it removed it.
 */
function takeOver(lockPath: string, stale: LockInfo | null): boolean {
  const aside = `${lockPath}.stale-${process.pid}`;
  try {
    renameSync(lockPath, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw ioError(e, lockPath, 'replace the stale lock file');
  }
  const moved = readHolder(aside);
  const same =
    moved !== 'gone' &&
    (moved === null || stale === null
      ? moved === stale
      : moved.pid === stale.pid && moved.started === stale.started);
  if (!same) {
    // Another process took the lock meanwhile and we moved its fresh lock: put it back.
    try {
      linkSync(aside, lockPath);
    } catch {
      // someone else has it now anyway
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

function inUseMessage(dir: string, lockPath: string, h: LockInfo): string {
  const who = h.hostname === hostname() ? `gshf pid ${h.pid}` : `gshf pid ${h.pid} on host ${h.hostname}`;
  return `${dir} is in use by ${who} (started ${h.started}); wait for it or remove ${lockPath} if that process is gone`;
}

function removeIfOurs(h: Held): void {
  try {
    if (readFileSync(h.lockPath, 'utf8') === h.content) unlinkSync(h.lockPath);
  } catch {
    // already gone
  }
}

function releaseAll(): void {
  for (const h of held.values()) removeIfOurs(h);
  held.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', releaseAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      releaseAll();
      // Re-raise with the default action, so the exit status says which signal ended us.
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
