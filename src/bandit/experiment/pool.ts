/**
 * A small worker-thread pool for experiment jobs. Results come back as they finish (any order);
 * the caller records each one immediately, so an interrupted sweep loses only jobs in flight.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { ExperimentConfig } from './config.js';
import { runJob, type Job, type JobResult } from './jobs.js';
import { GshfError, errnoCode } from '../../math/errors.js';

/** An error as it crosses the thread boundary (class identity is lost in structured clone). */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

type Reply = { id: number; ok: true; result: JobResult } | { id: number; ok: false; error: WorkerError };

export function serializeError(e: unknown): WorkerError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  return { name: e.name, message: e.message, stack: e.stack, code: errnoCode(e) };
}

/**
 * The error a failed job raises in the main thread: one line `job <key> failed: <message>`. Our
 * own error classes and OS errors stay user errors (GshfError); anything else is internal, and
 * keeps the worker's stack for GSHF_DEBUG=1.
 */
function jobError(key: string, w: WorkerError): Error {
  const message = `job ${key} failed: ${w.message}`;
  const err = w.name.startsWith('Gshf') || w.code ? new GshfError(message) : new Error(message);
  if (w.stack) err.stack = w.stack;
  return err;
}

/**
 * The environment of a pool worker: the parent's, with GSHF_THREADS=1 so that each worker runs its
 * BLAS and native kernels on one thread (the workers are the parallelism; native/README.md).
 */
export function workerEnv(parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...parent, GSHF_THREADS: '1' };
}

export async function runJobs(
  cfg: ExperimentConfig,
  jobs: Job[],
  onResult: (r: JobResult) => void,
  workers = cfg.workers ?? availableParallelism(),
): Promise<void> {
  if (jobs.length === 0) return;
  const n = Math.min(workers, jobs.length);
  if (n <= 1) {
    for (const job of jobs) onResult(runJob(cfg, job));
    return;
  }
  let next = 0;
  let failed: Error | null = null;
  const url = new URL('./worker.js', import.meta.url);
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(url, { env: workerEnv() });
          const feed = () => {
            if (failed || next >= jobs.length) {
              void w.terminate().then(() => resolve());
              return;
            }
            const id = next++;
            w.postMessage({ id, cfg, job: jobs[id] });
          };
          const fail = (e: Error) => {
            failed = e;
            void w.terminate().then(() => reject(e));
          };
          w.on('message', (m: Reply) => {
            if (!m.ok) return fail(jobError(jobs[m.id].key, m.error));
            try {
              onResult(m.result); // may throw, e.g. ENOSPC appending metrics.jsonl
            } catch (e) {
              return fail(e instanceof Error ? e : new Error(String(e)));
            }
            feed();
          });
          w.on('error', (e) => {
            failed = e;
            reject(e);
          });
          feed();
        }),
    ),
  );
}
