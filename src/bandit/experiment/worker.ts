/** Worker thread: receives {cfg, job} messages, runs them, posts results back. */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './jobs.js';
import type { ExperimentConfig } from './config.js';
import { serializeError } from './pool.js';

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
    port.postMessage({ id: msg.id, ok: false, error: serializeError(e) });
  }
});
