/**
 * The one atomic file writer: write a temporary file next to the target, fsync it, rename it over
 * the target (atomic on POSIX), so a reader sees either the old file or the whole new one, never a
 * half-written one, even after a crash or power loss. OS errors (ENOSPC, EACCES, EROFS, …) come
 * out as one `GshfIoError` line naming the target.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ioError } from '../math/errors.js';

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, content); // loops until every byte is written
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(e, path, 'write the file');
  }
  fsyncDir(dirname(path));
}

/** `value` as one line of JSON (and a newline), written atomically: the one JSON writer of run folders. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value) + '\n');
}

/** Makes a rename durable (best effort: some file systems do not allow fsync on a directory). */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here; the rename itself is still atomic
  }
}
