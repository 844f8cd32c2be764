/**
 * A small worker-thread pool for experiment jobs. Results come back as they finish (any order);
 * the caller records each one immediately, so an interrupted sweep loses only jobs in flight.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { ExperimentConfig } from './config.js';
import { runJob, type Job, type JobResult } from './jobs.js';

type Reply = { id: number; ok: true; result: JobResult } | { id: number; ok: false; error: string };

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
          const w = new Worker(url);
          const feed = () => {
            if (failed || next >= jobs.length) {
              void w.terminate().then(() => resolve());
              return;
            }
            const id = next++;
            w.postMessage({ id, cfg, job: jobs[id] });
          };
          w.on('message', (m: Reply) => {
            if (m.ok) {
              onResult(m.result);
              feed();
            } else {
              failed = new Error(`job ${jobs[m.id].key} failed: ${m.error}`);
              void w.terminate().then(() => reject(failed));
            }
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
