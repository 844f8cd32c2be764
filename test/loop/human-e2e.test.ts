/**
 * End to end with people: `gshf loop` with `labels: {kind: human}` answered by a scripted annotator
 * over loopback HTTP. The annotation service runs in-process (temp SQLite db, port 0); the loop
 * (local backend, tiny untrained π0) pushes each iteration's pairs to it and waits; the annotator
 * polls /next and submits the side the gold reward scores higher (longer text on a tie). The
 * ledger must hold exactly the annotator's answers, mapped back through the page's per-task side
 * swap as the service reports it, within the label budget, no id twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { loopConfigSchema, resolveConfigPaths } from '../../src/loop/config.js';
import { runLoop } from '../../src/loop/driver.js';
import { goldReward } from '../../src/pref/gold.js';
import { startAnnotateServer, type RunningAnnotateServer } from '../../src/serve/annotate/server.js';
import { loopConfig } from './helpers.js';

const ADMIN = 'loop-human-e2e-admin-token-42';
const TOKEN_ENV = 'GSHF_TEST_LOOP_ADMIN';
const PROJECT = 'loop-e2e';
let dir: string;
let srv: RunningAnnotateServer;

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface Submitted {
  taskId: number;
  prompt: string;
  left: string;
  right: string;
  choice: 'left' | 'right';
}

/** The scripted annotator: higher gold reward wins, then the longer text, then left. */
function pick(prompt: string, left: string, right: string): 'left' | 'right' {
  const [gl, gr] = [goldReward(prompt, left), goldReward(prompt, right)];
  if (gl !== gr) return gl > gr ? 'left' : 'right';
  return right.length > left.length ? 'right' : 'left';
}

async function annotate(token: string, stop: () => boolean): Promise<Submitted[]> {
  const done: Submitted[] = [];
  while (!stop()) {
    const n = await api(token, 'POST', `/api/projects/${PROJECT}/next`);
    const task = (n.body as { task?: { id: number; prompt: string; left: string; right: string } | null })
      .task;
    if (n.status !== 200 || !task) {
      // no project yet (404 until the loop's first push) or an empty queue
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const choice = pick(task.prompt, task.left, task.right);
    const s = await api(token, 'POST', `/api/projects/${PROJECT}/tasks/${task.id}/annotations`, { choice });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    done.push({ taskId: task.id, prompt: task.prompt, left: task.left, right: task.right, choice });
  }
  return done;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gshf-loop-human-'));
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

test('loop with the human source: a scripted annotator answers over HTTP, the ledger is its answers', async () => {
  const created = await api(ADMIN, 'POST', '/api/annotators', { name: 'scripted' });
  const token = String(created.body.token);
  // 2 iterations × 4 prompts, budget 7: iteration 2 may pay only 3 labels.
  const cfgPath = loopConfig(join(dir, 'cfg'), {
    budget: 7,
    labels: {
      kind: 'human',
      url: srv.url,
      project: PROJECT,
      token_env: TOKEN_ENV,
      deadline_s: 60,
      min_fraction: 1,
      poll_ms: 20,
    },
  });
  const cfg = resolveConfigPaths(loadConfigFile(cfgPath, loopConfigSchema), join(cfgPath, '..'));
  const out = join(dir, 'run');
  let stop = false;
  const worker = annotate(token, () => stop);
  const res = await runLoop(cfg, { out, env: { [TOKEN_ENV]: ADMIN }, log: () => {} }).finally(() => {
    stop = true;
  });
  const submitted = await worker;

  // The loop ran both iterations and stopped on the budget after the second.
  assert.equal(res.rows.length, 3);
  assert.equal(res.rows[2].labels_used, 7);
  assert.equal(res.rows[1].selection?.labelled, 4);
  assert.equal(res.rows[2].selection?.labelled, 3);

  // Only what the budget allows was pushed, and the annotator answered exactly that.
  const project = await srv.store.getProject(PROJECT);
  assert.equal((await srv.store.queueCounts(project!.id, Date.now())).tasks, 7);
  assert.equal(submitted.length, 7);

  // The ledger: one record per submitted answer, no id twice.
  const recs = readFileSync(join(out, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; prompt: string; a: string; b: string; verdict: string });
  assert.equal(recs.length, 7);
  assert.equal(new Set(recs.map((r) => r.id)).size, 7, 'a label recorded twice');
  assert.deepEqual(
    recs.map((r) => r.id.split('/')[0]),
    ['it1', 'it1', 'it1', 'it1', 'it2', 'it2', 'it2'],
  );

  // Each verdict is the annotator's choice mapped back through the side swap the service reports.
  const anns = (await api(ADMIN, 'GET', `/api/projects/${PROJECT}/annotations`)).body.annotations as {
    task_id: number;
    id: string;
    verdict: string;
    shown_swapped: boolean;
  }[];
  assert.equal(anns.length, 7);
  const byTask = new Map(submitted.map((s) => [s.taskId, s]));
  const recById = new Map(recs.map((r) => [r.id, r]));
  for (const a of anns) {
    const s = byTask.get(a.task_id);
    const r = recById.get(a.id);
    assert.ok(s && r, `annotation ${a.id} (task ${a.task_id}) has no submission or no ledger record`);
    // What the page showed is the query's pair, sides swapped iff the service says so.
    assert.deepEqual([s.prompt, s.left, s.right], [r.prompt, ...(a.shown_swapped ? [r.b, r.a] : [r.a, r.b])]);
    const want = (s.choice === 'left') !== a.shown_swapped ? 'a' : 'b';
    assert.equal(a.verdict, want, a.id);
    assert.equal(r.verdict, want, a.id);
    // And the ledger's winner is the text the gold rule prefers (when the rule is not a coin on sides).
    const decided = goldReward(r.prompt, r.a) !== goldReward(r.prompt, r.b) || r.a.length !== r.b.length;
    if (decided) assert.equal(pick(r.prompt, r.a, r.b), r.verdict === 'a' ? 'left' : 'right', a.id);
  }
});
