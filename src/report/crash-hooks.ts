/**
 * Crash hooks for the crash-and-resume tests: callbacks the library calls at the points where a
 * killed run must resume without losing or repeating work. The library only calls them; the process
 * entry points (the CLI, a seed worker) build them once from the environment with
 * `crashHooksFromEnv`, which SIGKILLs the process at the requested point:
 *   GSHF_CRASH_AFTER_LABELS=N      after the N-th label newly paid in this process is durable;
 *   GSHF_CRASH_AFTER_STEP=it2/train  right after that step of `gshf loop` is memoised;
 *   GSHF_CRASH_AFTER_SFT_STEP=N    right after SFT step N's metrics line is written.
 */
import { GshfInputError } from '../math/errors.js';

export interface CrashHooks {
  /** After a label newly paid in this process is durable; `paid` counts them. */
  afterLabel?(paid: number): void;
  /** After a named step is memoised (the loop: `it<t>/<step>`). */
  afterStep?(name: string): void;
  /** After an SFT step's metrics line is written. */
  afterSftStep?(step: number): void;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | null {
  const v = env[name];
  if (!v) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new GshfInputError(`${name}: expected a positive integer, got "${v}"`);
  return n;
}

/** The hooks the environment asks for (none when no variable is set). */
export function crashHooksFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): CrashHooks {
  const labels = positiveInt(env, 'GSHF_CRASH_AFTER_LABELS');
  const step = env.GSHF_CRASH_AFTER_STEP || null;
  const sft = positiveInt(env, 'GSHF_CRASH_AFTER_SFT_STEP');
  const hooks: CrashHooks = {};
  if (labels !== null) hooks.afterLabel = (paid) => (paid >= labels ? kill() : undefined);
  if (step !== null) hooks.afterStep = (name) => (name === step ? kill() : undefined);
  if (sft !== null) hooks.afterSftStep = (s) => (s === sft ? kill() : undefined);
  return hooks;
}
