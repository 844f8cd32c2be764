/**
 * How the CLI turns a thrown error into its one `gshf: …` line (docs/errors.md): our own error
 * classes print their message; a raw Node system error (ENOSPC, EACCES, EROFS, …) that escaped a
 * layer is shown as one line naming its path; anything else is an internal error, shown with its
 * message (the stack follows under GSHF_DEBUG=1).
 */
import { GshfError, errnoCode, ioError } from '../math/errors.js';

export function describeError(err: unknown): string {
  if (err instanceof GshfError) return err.message;
  if (!(err instanceof Error)) return String(err);
  const code = errnoCode(err);
  const path = (err as { path?: unknown }).path;
  const syscall = (err as { syscall?: unknown }).syscall;
  if (code && typeof path === 'string')
    return ioError(err, path, typeof syscall === 'string' ? syscall : 'access').message;
  return err.message;
}
