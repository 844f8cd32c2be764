/**
 * Load test of the annotation service on loopback: N concurrent scripted annotators (one keep-alive
 * HTTP client each, in this process) against a `gshf serve` child process. Each annotator asks for
 * the next task and submits an answer (with an idempotency key) until the queue is empty; every
 * 10th submission is sent twice to check that a replay is not counted. Afterwards the label feed is
 * read back: every 2xx submission must be there exactly once (0 lost, 0 duplicated).
 *
 *   node dist/bench/serve/annotate-load.js [--annotators 50] [--tasks 1000] [--k 3] [--store sqlite|postgres|both]
 *                                          [--seconds S]   (stop after S seconds instead of draining)
 *
 * Also used (with small counts) by test/serve/annotate-load.test.ts and for the SIGKILL test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ADMIN_TOKEN = 'load-test-admin-token-0123456789';

export interface ServerProc {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `gshf serve` as a child process on a free loopback port. */
export async function spawnServer(db: string): Promise<ServerProc> {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--db', db, '--host', '127.0.0.1', '--port', '0', '--rate-limit', '10000000'],
    { env: { ...process.env, GSHF_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let started = false;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      if (started) return; // keep draining the pipes (the request log), stop keeping them
      out += d.toString();
      const m = /annotation service on (http:\/\/\S+)/.exec(out);
      if (m) {
        started = true;
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${out}`));
    });
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Creates the project, `tasks` tasks and `annotators` annotators; returns their tokens. */
export async function setupLoad(
  url: string,
  o: { project: string; annotators: number; tasks: number; k: number },
): Promise<string[]> {
  const p = await api(url, ADMIN_TOKEN, 'POST', '/api/projects', {
    name: o.project,
    k: o.k,
    lease_seconds: 600,
  });
  if (p.status !== 201) throw new Error(`create project: ${JSON.stringify(p.json)}`);
  const tasks = Array.from({ length: o.tasks }, (_, i) => ({
    id: `t${i}`,
    prompt: `prompt ${i}`,
    a: `first answer to ${i}`,
    b: `second answer to ${i}`,
    priority: (i * 7919) % 1000,
  }));
  for (let i = 0; i < tasks.length; i += 5000) {
    const chunk = tasks.slice(i, i + 5000);
    const r = await api(url, ADMIN_TOKEN, 'POST', `/api/projects/${o.project}/tasks`, { tasks: chunk });
    if (r.status !== 200) throw new Error(`push: ${JSON.stringify(r.json)}`);
  }
  const tokens: string[] = new Array<string>(o.annotators);
  const create = async (i: number) => {
    const a = await api(url, ADMIN_TOKEN, 'POST', '/api/annotators', { name: `${o.project}-ann${i}` });
    if (a.status !== 201) throw new Error(`annotator: ${JSON.stringify(a.json)}`);
    tokens[i] = String(a.json.token);
  };
  for (let i = 0; i < o.annotators; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, o.annotators - i) }, (_, j) => create(i + j)));
  }
  return tokens;
}

export interface Ack {
  annotator: number;
  taskId: number;
  annotationId: number;
}

export interface LoadResult {
  acks: Ack[];
  replays: number;
  replayMismatches: number;
  /** Latency of each 2xx submit, ms. */
  submitMs: number[];
  nextMs: number[];
  errors: number;
  seconds: number;
}

/**
 * Runs the annotators until the queue is empty, `stopAfterAcks` submissions were acknowledged (then
 * `onStop` is called, e.g. to SIGKILL the server) or a request fails at the network level (that
 * annotator stops).
 */
export async function runAnnotators(
  url: string,
  project: string,
  tokens: readonly string[],
  o: { stopAfterAcks?: number; onStop?: () => void; seconds?: number } = {},
): Promise<LoadResult> {
  const res: LoadResult = {
    acks: [],
    replays: 0,
    replayMismatches: 0,
    submitMs: [],
    nextMs: [],
    errors: 0,
    seconds: 0,
  };
  let stopped = false;
  const t0 = performance.now();
  const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
  const one = async (i: number) => {
    const token = tokens[i];
    for (let n = 0; !stopped && performance.now() < deadline; n++) {
      let t = performance.now();
      const next = await api(url, token, 'POST', `/api/projects/${project}/next`);
      res.nextMs.push(performance.now() - t);
      const task = next.json.task as { id: number } | null;
      if (next.status !== 200 || task === null) return;
      const body = { choice: n % 3 === 0 ? 'right' : 'left', idempotency_key: `ann${i}-task${task.id}` };
      const path = `/api/projects/${project}/tasks/${task.id}/annotations`;
      t = performance.now();
      const sub = await api(url, token, 'POST', path, body);
      if (sub.status !== 201) throw new Error(`submit: HTTP ${sub.status} ${JSON.stringify(sub.json)}`);
      res.submitMs.push(performance.now() - t);
      res.acks.push({ annotator: i, taskId: task.id, annotationId: Number(sub.json.id) });
      if (o.stopAfterAcks !== undefined && res.acks.length >= o.stopAfterAcks && !stopped) {
        stopped = true;
        o.onStop?.();
      }
      if (n % 10 === 0 && !stopped) {
        const again = await api(url, token, 'POST', path, body);
        res.replays++;
        if (again.status !== 200 || again.json.id !== sub.json.id) res.replayMismatches++;
      }
    }
  };
  await Promise.all(
    tokens.map((_, i) =>
      one(i).catch((err: Error) => {
        res.errors++;
        if (!stopped) throw err;
      }),
    ),
  );
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}

export interface Verification {
  labels: number;
  lost: number;
  duplicated: number;
}

/** Reads the whole label feed back and checks every acknowledged submission is there once. */
export async function verifyAcks(url: string, project: string, acks: readonly Ack[]): Promise<Verification> {
  const seen = new Map<string, number>();
  const ids = new Set<number>();
  let cursor = 0;
  for (;;) {
    const r = await api(
      url,
      ADMIN_TOKEN,
      'GET',
      `/api/projects/${project}/labels?since=${cursor}&limit=5000`,
    );
    const labels = r.json.labels as { cursor: number; task_id: number; annotator: string }[];
    if (labels.length === 0) break;
    for (const l of labels) {
      const key = `${l.annotator}/${l.task_id}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      ids.add(l.cursor);
    }
    cursor = Number(r.json.next_cursor);
  }
  let lost = 0;
  for (const a of acks) if (!ids.has(a.annotationId)) lost++;
  const duplicated = [...seen.values()].filter((c) => c > 1).length;
  return { labels: ids.size, lost, duplicated };
}

export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

// ---- the benchmark ----

/**
 * Each annotator's first request verifies their token with scrypt (deliberately slow, once per
 * token): done before the clock starts, so the figures are the steady state.
 */
async function warmUp(url: string, tokens: readonly string[]): Promise<void> {
  for (let i = 0; i < tokens.length; i += 8) {
    await Promise.all(tokens.slice(i, i + 8).map((t) => api(url, t, 'GET', '/api/me')));
  }
}

async function benchOne(
  kind: 'sqlite' | 'postgres',
  o: { annotators: number; tasks: number; k: number; seconds?: number },
) {
  const { startPgCluster } = await import('../../test/helpers/pg-cluster.js');
  const dir = mkdtempSync(join(tmpdir(), 'gshf-load-'));
  const cluster = kind === 'postgres' ? await startPgCluster() : undefined;
  if (kind === 'postgres' && cluster === undefined) throw new Error('PostgreSQL is not installed');
  const db = kind === 'sqlite' ? `sqlite:${join(dir, 'load.db')}` : (cluster?.url as string);
  const srv = await spawnServer(db);
  try {
    const tokens = await setupLoad(srv.url, { project: 'load', ...o });
    await warmUp(srv.url, tokens);
    const r = await runAnnotators(srv.url, 'load', tokens, { seconds: o.seconds });
    const v = await verifyAcks(srv.url, 'load', r.acks);
    return {
      store: kind,
      annotators: o.annotators,
      errors: r.errors,
      submissions: r.acks.length,
      replays: r.replays,
      replay_mismatches: r.replayMismatches,
      lost: v.lost,
      duplicated: v.duplicated,
      labels_in_store: v.labels,
      seconds: +r.seconds.toFixed(2),
      submits_per_s: +(r.acks.length / r.seconds).toFixed(1),
      requests_per_s: +((r.acks.length + r.nextMs.length + r.replays) / r.seconds).toFixed(1),
      submit_p50_ms: +quantile(r.submitMs, 0.5).toFixed(2),
      submit_p99_ms: +quantile(r.submitMs, 0.99).toFixed(2),
      next_p50_ms: +quantile(r.nextMs, 0.5).toFixed(2),
      next_p99_ms: +quantile(r.nextMs, 0.99).toFixed(2),
    };
  } finally {
    await srv.stop();
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const o = {
    annotators: Number(arg('annotators', '50')),
    tasks: Number(arg('tasks', '1000')),
    k: Number(arg('k', '3')),
    seconds: process.argv.includes('--seconds') ? Number(arg('seconds', '60')) : undefined,
  };
  const which = arg('store', 'both');
  const kinds = (which === 'both' ? ['sqlite', 'postgres'] : [which]) as ('sqlite' | 'postgres')[];
  console.error(
    `# ${o.annotators} annotators, ${o.tasks} tasks × k=${o.k}; ${cpus().length} CPUs (${cpus()[0]?.model})`,
  );
  for (const kind of kinds) console.log(JSON.stringify(await benchOne(kind, o)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
