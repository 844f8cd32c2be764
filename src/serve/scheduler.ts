/**
 * Runs generation jobs one batch at a time (the CPU engine is single-threaded) in arrival order.
 * Jobs waiting together that have the same sampling parameters and no seed of their own are merged
 * into ONE call of the batched sampler (so 16 concurrent clients share decode steps); a job with a
 * seed, or a streaming job, runs alone so that its samples depend only on its own request.
 * At most `maxJobs` jobs are admitted (queued + running); beyond that `submit` refuses.
 */
import { randomInt } from 'node:crypto';
import type { Choice, DeltaSink, GenParams, GenResult, LmEngine } from './engine.js';

export interface Job {
  prompts: number[][];
  params: GenParams;
  /** Seed given by the client (the job then runs alone). */
  seeded: boolean;
  onDelta?: DeltaSink;
}

interface Pending {
  job: Job;
  resolve: (r: GenResult) => void;
  reject: (e: unknown) => void;
}

export class Scheduler {
  private readonly queue: Pending[] = [];
  private running = false;
  private admitted = 0;

  constructor(
    private readonly engine: LmEngine,
    readonly maxJobs: number,
    /** Max prompts·n merged into one sampler call. */
    private readonly maxBatch = 64,
  ) {}

  get load(): number {
    return this.admitted;
  }

  /** Queues a job; null when `maxJobs` jobs are already admitted. */
  submit(job: Job): Promise<GenResult> | null {
    if (this.admitted >= this.maxJobs) return null;
    this.admitted++;
    const p = new Promise<GenResult>((resolve, reject) => this.queue.push({ job, resolve, reject }));
    if (!this.running) void this.drain();
    return p;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Yield once so requests that arrived meanwhile join the queue (and maybe this batch).
        await new Promise<void>((r) => setImmediate(r));
        this.runBatch(this.takeBatch());
      }
    } finally {
      this.running = false;
    }
  }

  private takeBatch(): Pending[] {
    const first = this.queue.shift() as Pending;
    if (first.job.seeded || first.job.onDelta) return [first];
    const key = paramsKey(first.job.params);
    const batch = [first];
    let size = first.job.prompts.length * first.job.params.n;
    for (let i = 0; i < this.queue.length; ) {
      const p = this.queue[i];
      const cost = p.job.prompts.length * p.job.params.n;
      if (
        !p.job.seeded &&
        !p.job.onDelta &&
        paramsKey(p.job.params) === key &&
        size + cost <= this.maxBatch
      ) {
        batch.push(p);
        size += cost;
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private runBatch(batch: Pending[]): void {
    try {
      const first = batch[0].job;
      if (batch.length === 1) {
        batch[0].resolve(this.engine.run(first.prompts, first.params, first.onDelta));
        return;
      }
      // Merged: one sampler call over all prompts, with a fresh seed; split the choices back.
      const all = batch.flatMap((p) => p.job.prompts);
      const res = this.engine.run(all, { ...first.params, seed: randomInt(2 ** 31) });
      let off = 0;
      for (const p of batch) {
        const k = p.job.prompts.length;
        const choices = res.choices.slice(off, off + k).map((row) => row.map((c) => reindex(c, off)));
        const completionTokens = choices.flat().reduce((a, c) => a + c.tokens.length, 0);
        const promptTokens = p.job.prompts.reduce((a, q) => a + q.length, 0);
        p.resolve({ choices, promptTokens, completionTokens });
        off += k;
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.admitted -= batch.length;
    }
  }
}

function reindex(c: Choice, off: number): Choice {
  return { ...c, prompt: c.prompt - off };
}

function paramsKey(p: GenParams): string {
  return JSON.stringify([p.n, p.temperature, p.topP, p.topK, p.maxTokens ?? null, p.stop, p.logprobs]);
}
