/** Worker thread: receives {cfg, job} messages, runs them, posts results back. */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './jobs.js';
import type { ExperimentConfig } from './config.js';

interface Request {
  id: number;
  cfg: ExperimentConfig;
  job: Job;
}

if (!parentPort) throw new Error('worker.js must run as a worker thread');
const port = parentPort;
port.on('message', (msg: Request) => {
  try {
    port.postMessage({ id: msg.id, ok: true, result: runJob(msg.cfg, msg.job) });
  } catch (e) {
    const err = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
    port.postMessage({ id: msg.id, ok: false, error: err });
  }
});
