/**
 * Preference seeds in parallel child processes (two seeds at once on the two cores, one
 * BLAS thread each). Seeds are handed out one at a time (a work queue), so a seed that runs more
 * methods does not leave the other worker idle. Each worker records its labels in its own ledger
 * file `ledger-parts/seedS.jsonl` (initialised with that seed's labels already in labels.jsonl, so
 * paid labels replay free); the parent merges the parts into labels.jsonl afterwards (and at the
 * start of a resumed run), so two processes never append to one file. The oracle's answers depend
 * only on (seed, query id), and every stage is a deterministic function of its inputs: the numbers
 * do not depend on the number of workers or on which worker ran a seed.
 */
import { fork } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PipelineConfig } from './pipeline-config.js';

export const PARTS_DIR = 'ledger-parts';

export function partPath(outDir: string, seedTag: string): string {
  return join(outDir, PARTS_DIR, `${seedTag}.jsonl`);
}

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

const idOf = (line: string): string => (JSON.parse(line) as { id: string }).id;

/** Writes a part ledger holding the main ledger's records of one seed (prefix `seedS/`). */
export function initPart(outDir: string, seedTag: string): string {
  const path = partPath(outDir, seedTag);
  mkdirSync(join(outDir, PARTS_DIR), { recursive: true });
  const mine = lines(join(outDir, 'labels.jsonl')).filter((l) => idOf(l).startsWith(`${seedTag}/`));
  writeFileSync(path, mine.map((l) => l + '\n').join(''));
  return path;
}

/**
 * Appends every record of the part ledgers that labels.jsonl lacks (a torn last line of a part — a
 * worker killed mid-write — is dropped: its label was not returned to anyone), then removes the parts.
 */
export function mergeParts(outDir: string): number {
  const dir = join(outDir, PARTS_DIR);
  if (!existsSync(dir)) return 0;
  const main = join(outDir, 'labels.jsonl');
  const have = new Set(lines(main).map(idOf));
  let added = 0;
  for (const f of readdirSync(dir).sort()) {
    const fresh: string[] = [];
    for (const l of lines(join(dir, f))) {
      let id: string;
      try {
        id = idOf(l);
      } catch {
        continue; // torn line
      }
      if (!have.has(id)) {
        have.add(id);
        fresh.push(l);
      }
    }
    if (fresh.length) appendFileSync(main, fresh.map((l) => l + '\n').join(''));
    added += fresh.length;
  }
  rmSync(dir, { recursive: true, force: true });
  return added;
}

/** Messages between the parent and a worker. */
export type ToWorker = { type: 'seed'; seed: number } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'stage'; id: string; skipped: boolean }
  | { type: 'done'; seed: number }
  | { type: 'error'; message: string };

/**
 * Runs seeds 0..seeds−1 on `workers` child processes (GSHF_THREADS=1 each). Resolves when every
 * seed is done; rejects (and stops the other workers) on the first failure.
 */
export function runSeedsInWorkers(
  cfg: PipelineConfig,
  outDir: string,
  workers: number,
  onStage: (id: string, skipped: boolean) => void,
): Promise<void> {
  const script = fileURLToPath(new URL('./seed-worker.js', import.meta.url));
  const queue = Array.from({ length: cfg.seeds }, (_, s) => s);
  const n = Math.min(workers, queue.length);
  return new Promise((resolve, reject) => {
    let live = n;
    let failed = false;
    const children = Array.from({ length: n }, () =>
      fork(script, [JSON.stringify({ cfg, outDir })], {
        env: { ...process.env, GSHF_THREADS: '1', GSHF_QUIET: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const next = (c: (typeof children)[number]): void => {
      const s = queue.shift();
      c.send(
        s === undefined
          ? ({ type: 'stop' } satisfies ToWorker)
          : ({ type: 'seed', seed: s } satisfies ToWorker),
      );
    };
    for (const c of children) {
      c.on('message', (m: FromWorker) => {
        if (m.type === 'ready' || m.type === 'done') next(c);
        else if (m.type === 'stage') onStage(m.id, m.skipped);
        else if (m.type === 'error' && !failed) {
          failed = true;
          for (const o of children) if (o !== c) o.kill('SIGTERM');
          reject(new Error(m.message));
        }
      });
      c.on('exit', (code, signal) => {
        live--;
        if (!failed && (code !== 0 || signal)) {
          failed = true;
          for (const o of children) if (o !== c) o.kill('SIGTERM');
          reject(new Error(`seed worker ${c.pid} exited with ${signal ?? `code ${code}`}`));
        } else if (live === 0 && !failed) resolve();
      });
    }
  });
}
