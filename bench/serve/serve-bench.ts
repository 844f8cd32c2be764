/**
 * `gshf lm serve` throughput vs the in-process sampler on the same model.
 *
 *   node dist/bench/serve/serve-bench.js [--seconds 6] [--max-tokens 32] [--preset default]
 *
 * The server runs as a separate process (`gshf lm serve` on a freshly saved random-init checkpoint
 * of the preset), the load comes from this process: C client loops, each sending one
 * /v1/completions request at a time (prompt "The food was", n 1, temperature 1, max_tokens M) for
 * the measured window, after a short warm-up. Rows: concurrency 1 and 16 without a seed (the
 * server may merge concurrent requests into one batched sampler call), and 16 with a per-request
 * seed (each request runs alone). The in-process rows call `generate` directly: one prompt at a
 * time, and 16 prompts per call. Writes bench/out/serve.json and prints a markdown table.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ByteTokenizer,
  GPT,
  PRESETS,
  generate,
  kernelBackend,
  saveCheckpoint,
  type PresetName,
} from '../../src/nn/index.js';

interface Row {
  name: string;
  concurrency: number;
  requests: number;
  tokens: number;
  seconds: number;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const SECONDS = Number(arg('seconds', '6'));
const MAX_TOKENS = Number(arg('max-tokens', '32'));
const PRESET = arg('preset', 'default') as PresetName;
const PROMPT = 'The food was';

async function startServer(dir: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    ['dist/src/cli/main.js', 'lm', 'serve', '--model', dir, '--port', '0', '--model-name', 'bench'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function loadTest(url: string, concurrency: number, seeded: boolean, seconds: number): Promise<Row> {
  let requests = 0;
  let tokens = 0;
  let seed = 0;
  const one = async (count: boolean): Promise<void> => {
    const body = {
      model: 'bench',
      prompt: PROMPT,
      max_tokens: MAX_TOKENS,
      temperature: 1,
      ...(seeded ? { seed: seed++ } : {}),
    };
    const r = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const j = (await r.json()) as { usage?: { completion_tokens: number }; error?: unknown };
    if (!r.ok || !j.usage) throw new Error(`bench request failed: ${r.status} ${JSON.stringify(j)}`);
    if (count) {
      requests++;
      tokens += j.usage.completion_tokens;
    }
  };
  const run = async (ms: number, count: boolean): Promise<number> => {
    const t0 = performance.now();
    const end = t0 + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) await one(count);
      }),
    );
    return (performance.now() - t0) / 1000;
  };
  await run(1000, false); // warm-up
  const s = await run(seconds * 1000, true);
  return {
    name: `gshf lm serve, ${seeded ? 'seeded (runs alone)' : 'no seed (mergeable)'}`,
    concurrency,
    requests,
    tokens,
    seconds: s,
  };
}

function inProcess(model: GPT, tok: ByteTokenizer, batch: number, seconds: number): Row {
  const ids = [tok.bos, ...tok.encode(PROMPT)];
  const prompts = Array.from({ length: batch }, () => ids);
  let requests = 0;
  let tokens = 0;
  let seed = 0;
  const once = (count: boolean): void => {
    const res = generate(model, prompts, {
      maxTokens: MAX_TOKENS,
      temperature: 1,
      seed: seed++,
      stop: [tok.eos],
    });
    if (!count) return;
    requests += batch;
    tokens += res.flat().reduce((a, s) => a + s.tokens.length, 0);
  };
  const warm = performance.now() + 1000;
  while (performance.now() < warm) once(false);
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) once(true);
  return {
    name: `in-process generate, ${batch} prompt${batch > 1 ? 's' : ''} per call`,
    concurrency: batch,
    requests,
    tokens,
    seconds: (performance.now() - t0) / 1000,
  };
}

async function main(): Promise<void> {
  const load0 = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const model = new GPT(PRESETS[PRESET], 1);
  const tok = new ByteTokenizer();
  const dir = mkdtempSync(join(tmpdir(), 'gshf-serve-bench-'));
  const rows: Row[] = [];
  try {
    saveCheckpoint(dir, model, tok);
    const server = await startServer(dir);
    try {
      rows.push(await loadTest(server.url, 1, false, SECONDS));
      rows.push(await loadTest(server.url, 16, false, SECONDS));
      rows.push(await loadTest(server.url, 16, true, SECONDS));
    } finally {
      server.stop();
    }
    rows.push(inProcess(model, tok, 1, SECONDS));
    rows.push(inProcess(model, tok, 16, SECONDS));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load1 = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const meta = {
    date: new Date().toISOString(),
    preset: PRESET,
    params: model.numParams,
    maxTokens: MAX_TOKENS,
    seconds: SECONDS,
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    kernels: kernelBackend(),
    load: `${load0} → ${load1}`,
  };
  mkdirSync('bench/out', { recursive: true });
  writeFileSync('bench/out/serve.json', JSON.stringify({ meta, rows }, null, 2) + '\n');
  const lines = [
    `| workload | concurrency | requests/s | tokens/s |`,
    `|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.concurrency} | ${(r.requests / r.seconds).toFixed(1)} | ${Math.round(r.tokens / r.seconds).toLocaleString('en-US')} |`,
    ),
  ];
  process.stdout.write(`${JSON.stringify(meta)}\n\n${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
