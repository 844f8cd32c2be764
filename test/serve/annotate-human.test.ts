// End to end: the loop's `human` label source pushes an iteration's pairs to the annotation service
// over HTTP and two scripted annotators answer them through the same API the page uses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HumanLabelSource, HumanSourceOptions } from '../../src/feedback/human.js';
import type { LabelQuery } from '../../src/feedback/types.js';
import { startAnnotateServer, type RunningAnnotateServer } from '../../src/serve/annotate/server.js';

const ADMIN = 'human-e2e-admin-token-0123';
let dir: string;
let srv: RunningAnnotateServer;
const env = { GSHF_ADMIN_TOKEN: ADMIN };

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await res.json()) as Record<string, unknown>;
}

/** A scripted annotator: prefers the side containing "good"; with none, answers `fallback`. */
async function annotate(
  token: string,
  project: string,
  fallback: string,
  stop: () => boolean,
): Promise<number> {
  let done = 0;
  while (!stop()) {
    const n = (await api(token, 'POST', `/api/projects/${project}/next`)) as {
      task?: { id: number; left: string; right: string } | null;
    };
    if (!n.task) {
      // no task yet (or no project yet: a 404 until the source creates it)
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const choice = n.task.left.includes('good') ? 'left' : n.task.right.includes('good') ? 'right' : fallback;
    await api(token, 'POST', `/api/projects/${project}/tasks/${n.task.id}/annotations`, { choice });
    done++;
  }
  return done;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gshf-human-'));
  srv = await startAnnotateServer({
    db: `sqlite:${join(dir, 'a.db')}`,
    host: '127.0.0.1',
    port: 0,
    adminToken: ADMIN,
  });
});
after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

test('options: unknown keys are rejected; defaults documented', () => {
  const o = HumanSourceOptions.parse({ kind: 'human', url: 'http://127.0.0.1:1', project: 'p' });
  assert.deepEqual([o.token_env, o.min_fraction, o.k], ['GSHF_ADMIN_TOKEN', 1, 1]);
  assert.throws(
    () => HumanSourceOptions.parse({ kind: 'human', url: 'http://x', project: 'p', dealine_s: 3 }),
    /dealine_s/,
  );
  assert.throws(() => new HumanLabelSource(o, { env: {} }), /GSHF_ADMIN_TOKEN/);
});

test('human source: pairs pushed, answered by two annotators over HTTP, majority in query order', async () => {
  const tokens: string[] = [];
  for (const name of ['h1', 'h2'])
    tokens.push(String((await api(ADMIN, 'POST', '/api/annotators', { name })).token));
  const queries: LabelQuery[] = [
    { id: 'it0/p0', prompt: 'x', a: 'a good reply', b: 'a poor reply', priority: 0.1 },
    { id: 'it0/p1', prompt: 'y', a: 'meh', b: 'good one', priority: 0.9 },
    { id: 'it0/p2', prompt: 'z', a: 'neither', b: 'nor this', priority: 0.5 },
  ];
  const opts = HumanSourceOptions.parse({
    kind: 'human',
    url: srv.url,
    project: 'loop',
    k: 2,
    poll_ms: 30,
    deadline_s: 60,
  });
  const source = new HumanLabelSource(opts, { env });
  let stop = false;
  const workers = [
    annotate(tokens[0], 'loop', 'both-bad', () => stop),
    annotate(tokens[1], 'loop', 'tie', () => stop),
  ];
  // The project is created by the source on its first push; the annotators poll until it exists.
  const answers = await source.label(queries);
  stop = true;
  const counts = await Promise.all(workers.map((w) => w.catch(() => -1)));
  assert.deepEqual(
    answers.map((a) => [a.id, a.verdict, a.detail?.n, a.detail?.complete]),
    [
      ['it0/p0', 'a', 2, true],
      ['it0/p1', 'b', 2, true],
      ['it0/p2', 'tie', 2, true], // both-bad vs tie: split vote
    ],
  );
  assert.ok(answers.every((a) => a.source === `human:${srv.url}/loop`));
  assert.deepEqual(counts, [3, 3]);
  // Resume: the same queries again are not pushed twice and come back at once.
  const again = await source.label(queries);
  assert.deepEqual(
    again.map((a) => a.verdict),
    ['a', 'b', 'tie'],
  );
  const project = await srv.store.getProject('loop');
  assert.equal((await srv.store.queueCounts(project!.id, Date.now())).tasks, 3);
});

test('human source: the deadline returns what arrived (nothing here), an abort returns at once', async () => {
  const opts = HumanSourceOptions.parse({
    kind: 'human',
    url: srv.url,
    project: 'late',
    poll_ms: 20,
    deadline_s: 0.2,
  });
  const source = new HumanLabelSource(opts, { env });
  const q: LabelQuery[] = [{ id: 'it1/p0', prompt: 'p', a: 'x', b: 'y' }];
  assert.deepEqual(await source.label(q), []);
  const ctrl = new AbortController();
  const slow = new HumanLabelSource({ ...opts, deadline_s: 600 }, { env });
  const pending = slow.label(q, { signal: ctrl.signal });
  setTimeout(() => ctrl.abort(), 50);
  assert.deepEqual(await pending, []);
  const bad = new HumanLabelSource(
    { ...opts, project: 'late' },
    { env: { GSHF_ADMIN_TOKEN: 'wrong-token-xxxxxxxx' } },
  );
  await assert.rejects(bad.label(q), /human:.*HTTP 401/);
});
