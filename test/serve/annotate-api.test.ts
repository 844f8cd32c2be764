// The annotation API through fastify's inject (no sockets): authorisation, bad input (4xx JSON, no
// row written), CSRF on cookie sessions, idempotent submission, export, OpenAPI, rate limits. Every
// test builds its own app on its own store (annotate-app.ts), so tests run in any order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnnotateApp, routesOf } from '../../src/serve/annotate/app.js';
import { ADMIN, annotationCount, appFixture, isJsonError, taskCount, type Method } from './annotate-app.js';

test('no token, a wrong token or a forged annotator token: 401', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { call, as, tokens } = f;
  isJsonError(await call('GET', '/api/projects'), 401, 'unauthorized');
  isJsonError(await call('GET', '/api/projects', 'not-the-admin-token'), 401);
  const forged = tokens.alice.slice(0, -4) + 'AAAA';
  isJsonError(await call('GET', '/api/projects', forged), 401);
  assert.equal((await as('alice', 'GET', '/api/projects')).statusCode, 200);
});

test('admin-only routes are refused to annotators', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { store, admin, as } = f;
  const refused: [Method, string, unknown?][] = [
    ['POST', '/api/projects', { name: 'x' }],
    ['POST', '/api/projects/solo/tasks', { tasks: [{ id: 'z', prompt: '', a: '', b: '' }] }],
    ['POST', '/api/projects/solo/votes', { ids: ['q1'] }],
    ['GET', '/api/projects/solo/labels'],
    ['GET', '/api/projects/solo/export.jsonl'],
    ['GET', '/api/projects/solo/stats'],
    ['GET', '/api/projects/solo/plot.svg'],
    ['GET', '/api/annotators'],
    ['POST', '/api/annotators', { name: 'mallory' }],
  ];
  for (const [m, url, body] of refused) isJsonError(await as('alice', m, url, body), 403, 'forbidden');
  assert.equal(await taskCount(store, 'solo'), 2);
  assert.equal(await store.getProject('x'), undefined);
  // …and annotator routes to the admin (who has no annotator identity).
  isJsonError(await admin('POST', '/api/projects/solo/next'), 403, 'forbidden');
});

test('cross-annotator reads and writes are refused; each sees only their own work', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { store, as } = f;
  const n = (await as('alice', 'POST', '/api/projects/solo/next')).json() as { task: { id: number } };
  assert.ok(n.task);
  // Bob cannot answer Alice's leased task (and gets no task: k = 1, the other is free though).
  const bobSubmit = await as('bob', 'POST', `/api/projects/solo/tasks/${n.task.id}/annotations`, {
    choice: 'left',
  });
  isJsonError(bobSubmit, 409, 'no_lease');
  assert.equal(await annotationCount(store, 'solo'), 0);
  const ok = await as('alice', 'POST', `/api/projects/solo/tasks/${n.task.id}/annotations`, {
    choice: 'left',
    rationale: 'clearer',
  });
  assert.equal(ok.statusCode, 201, ok.body);
  isJsonError(await as('bob', 'GET', '/api/projects/solo/annotations?annotator=alice'), 403, 'forbidden');
  const bobs = (await as('bob', 'GET', '/api/projects/solo/annotations')).json() as {
    annotations: unknown[];
  };
  assert.deepEqual(bobs.annotations, []);
  const alices = (await as('alice', 'GET', '/api/projects/solo/annotations')).json() as {
    annotations: { annotator: string; rationale: string }[];
  };
  assert.deepEqual(
    alices.annotations.map((a) => [a.annotator, a.rationale]),
    [['alice', 'clearer']],
  );
  // Bob cannot overwrite Alice's answer either: he never held a lease on it.
  isJsonError(
    await as('bob', 'POST', `/api/projects/solo/tasks/${n.task.id}/annotations`, { choice: 'right' }),
    409,
  );
  assert.equal(await annotationCount(store, 'solo'), 1);
});

test('bad input: 4xx JSON naming the problem, nothing written', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { app, store, admin, as } = f;
  const before = await taskCount(store, 'pair');
  let r = await admin('POST', '/api/projects/pair/tasks', {
    tasks: [{ id: 'n1', prompt: 5, a: 'x', b: 'y' }],
  });
  isJsonError(r, 400, 'bad_request');
  assert.match(r.json().message, /body\.tasks\.0\.prompt/);
  r = await admin('POST', '/api/projects/pair/tasks', {
    tasks: [{ id: 'n1', prompt: 'p', a: 'x', b: 'y', priorty: 1 }],
  });
  isJsonError(r, 400);
  assert.match(r.json().message, /unknown key "priorty" \(did you mean "priority"\?\)/);
  r = await admin('POST', '/api/projects/pair/tasks', {
    tasks: [
      { id: 'd', prompt: 'p', a: 'x', b: 'y' },
      { id: 'd', prompt: 'p', a: 'x', b: 'y' },
    ],
  });
  isJsonError(r, 400);
  assert.match(r.json().message, /duplicate id "d"/);
  r = await admin('POST', '/api/projects/pair/tasks', {
    tasks: [{ id: 'q1', prompt: 'changed', a: 'A1', b: 'B1' }],
  });
  isJsonError(r, 409, 'task_conflict');
  r = await app.inject({
    method: 'POST',
    url: '/api/projects/pair/tasks',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    payload: '{"tasks": [',
  });
  isJsonError(r, 400);
  r = await app.inject({
    method: 'POST',
    url: '/api/projects/pair/tasks',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/plain' },
    payload: 'hello',
  });
  isJsonError(r, 415, 'fst_err_ctp_invalid_media_type');
  isJsonError(await admin('POST', '/api/projects/nope/tasks', { tasks: [] }), 404, 'unknown_project');
  isJsonError(await admin('GET', '/api/projects/bad%20name/stats'), 400);
  isJsonError(await admin('GET', '/api/projects/pair/labels?since=-1'), 400);
  assert.equal(await taskCount(store, 'pair'), before);

  const lease = (await as('bob', 'POST', '/api/projects/pair/next')).json() as { task: { id: number } };
  const url = `/api/projects/pair/tasks/${lease.task.id}/annotations`;
  isJsonError(await as('bob', 'POST', url, { choice: 'maybe' }), 400);
  isJsonError(await as('bob', 'POST', url, { choice: 'left', rationale: 'x'.repeat(70_000) }), 413);
  isJsonError(
    await as('bob', 'POST', '/api/projects/pair/tasks/999999/annotations', { choice: 'left' }),
    404,
  );
  isJsonError(await as('bob', 'POST', '/api/projects/pair/tasks/abc/annotations', { choice: 'left' }), 400);
  // A task of another project is unknown here.
  const solo = await store.getProject('solo');
  const soloTask = (await store.tasksWithAnnotations(solo!.id))[0].task.id;
  const pairIds = (await store.tasksWithAnnotations((await store.getProject('pair'))!.id)).map(
    (x) => x.task.id,
  );
  if (!pairIds.includes(soloTask)) {
    isJsonError(
      await as('bob', 'POST', `/api/projects/pair/tasks/${soloTask}/annotations`, { choice: 'left' }),
      404,
    );
  }
  assert.equal(await annotationCount(store, 'pair'), 0);
});

test('a retried submit is not counted twice', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { admin, as } = f;
  const lease = (await as('alice', 'POST', '/api/projects/pair/next')).json() as { task: { id: number } };
  const url = `/api/projects/pair/tasks/${lease.task.id}/annotations`;
  const body = { choice: 'tie', idempotency_key: 'retry-key-1' };
  const first = await as('alice', 'POST', url, body);
  assert.equal(first.statusCode, 201);
  const second = await as('alice', 'POST', url, body);
  assert.equal(second.statusCode, 200);
  assert.equal(second.json().replayed, true);
  assert.equal(second.json().id, first.json().id);
  isJsonError(await as('alice', 'POST', url, { choice: 'left', idempotency_key: 'retry-key-1' }), 409);
  const labels = (await admin('GET', '/api/projects/pair/labels')).json() as {
    labels: { annotator: string }[];
  };
  assert.equal(labels.labels.filter((l) => l.annotator === 'alice').length, 1);
});

test('browser session: HttpOnly SameSite cookie, CSRF token required on POST', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { app, tokens } = f;
  const login = await app.inject({
    method: 'POST',
    url: '/api/login',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ token: tokens.bob }),
  });
  assert.equal(login.statusCode, 200);
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, /gshf_session=[^;]+;.*HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  const cookie = setCookie.split(';')[0];
  const csrf = (login.json() as { csrf: string }).csrf;
  const me = await app.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
  assert.equal(me.json().name, 'bob');
  assert.equal(me.json().csrf, csrf);
  isJsonError(
    await app.inject({ method: 'POST', url: '/api/projects/solo/next', headers: { cookie } }),
    403,
    'csrf',
  );
  const wrong = { cookie, 'x-csrf-token': 'nope' };
  isJsonError(
    await app.inject({ method: 'POST', url: '/api/projects/solo/next', headers: wrong }),
    403,
    'csrf',
  );
  const good = await app.inject({
    method: 'POST',
    url: '/api/projects/solo/next',
    headers: { cookie, 'x-csrf-token': csrf },
  });
  assert.equal(good.statusCode, 200, good.body);
  const out = await app.inject({
    method: 'POST',
    url: '/api/logout',
    headers: { cookie, 'x-csrf-token': csrf },
  });
  assert.equal(out.statusCode, 200);
  isJsonError(await app.inject({ method: 'GET', url: '/api/me', headers: { cookie } }), 401);
  isJsonError(
    await app.inject({
      method: 'POST',
      url: '/api/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token: 'wrong' }),
    }),
    401,
  );
});

test('export: TRL JSONL by majority; stats count agreement; OpenAPI lists the routes; headers', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { app, call, admin, as } = f;
  // Both annotators prefer the first response of q1 in a fresh project (k = 2).
  assert.equal((await admin('POST', '/api/projects', { name: 'exp', k: 2 })).statusCode, 201);
  const tasks = [
    { id: 'q1', prompt: 'p1', a: 'A1', b: 'B1', priority: 2 },
    { id: 'q2', prompt: 'p2', a: 'A2', b: 'B2', priority: 1 },
  ];
  assert.equal((await admin('POST', '/api/projects/exp/tasks', { tasks })).statusCode, 200);
  for (const who of ['alice', 'bob']) {
    for (let i = 0; i < 3; i++) {
      const n = (await as(who, 'POST', '/api/projects/exp/next')).json() as {
        task: { id: number; left: string } | null;
      };
      if (n.task === null) break;
      const choice = n.task.left === 'A1' ? 'left' : n.task.left === 'B1' ? 'right' : 'skip';
      await as(who, 'POST', `/api/projects/exp/tasks/${n.task.id}/annotations`, { choice });
    }
  }
  const exp = await admin('GET', '/api/projects/exp/export.jsonl');
  assert.equal(exp.statusCode, 200);
  const lines = exp.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const q1 = lines.find((l) => l.id === 'q1');
  assert.deepEqual([q1?.prompt, q1?.chosen, q1?.rejected], ['p1', 'A1', 'B1']);
  assert.equal(lines.length, 1); // q2 was skipped by both: no majority
  const stats = (await admin('GET', '/api/projects/exp/stats')).json() as {
    annotators: { name: string; annotations: number; skips: number }[];
    agreement: { pairwise: number; pairs: number; fleiss_items: number };
  };
  assert.deepEqual(
    stats.annotators.map((a) => [a.name, a.annotations, a.skips]),
    [
      ['alice', 1, 1],
      ['bob', 1, 1],
    ],
  );
  assert.deepEqual(
    [stats.agreement.pairwise, stats.agreement.pairs, stats.agreement.fleiss_items],
    [1, 1, 1],
  );
  const plot = await admin('GET', '/api/projects/exp/plot.svg');
  assert.match(plot.body, /^<svg/);
  // Every API route is in /openapi.json with its method, and nothing else is.
  const doc = (await call('GET', '/openapi.json')).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  );
  const api = routesOf(app).filter((r) => r.split(' ')[1].startsWith('/api/'));
  assert.deepEqual([...documented].sort(), [...api].sort());
  const page = await call('GET', '/annotate');
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'(;|$)/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
});

test('garbage on every route: never a 5xx', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { app, tokens } = f;
  const routes = [
    '/api/projects',
    '/api/projects/pair/tasks',
    '/api/projects/pair/next',
    '/api/projects/pair/tasks/1/annotations',
    '/api/projects/pair/votes',
    '/api/annotators',
    '/api/login',
  ];
  const bodies = [
    'null',
    '[]',
    '"x"',
    '{"tasks": {}}',
    '{"choice": null}',
    '{"ids": [1,2]}',
    '{"token": 1}',
    '{}',
    '{"__proto__": {"x": 1}}',
  ];
  for (const url of routes) {
    for (const payload of bodies) {
      for (const token of [ADMIN, tokens.alice]) {
        const r = await app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload,
        });
        assert.ok(r.statusCode < 500, `${url} ${payload}: ${r.statusCode} ${r.body}`);
      }
    }
  }
});

test('rate limit: 429 JSON after the per-client budget', async (t) => {
  const f = await appFixture(t);
  if (!f) return;
  const { store } = f;
  const small = await buildAnnotateApp({ store, adminToken: ADMIN, rateLimitPerMinute: 3 });
  t.after(() => small.close());
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) {
    codes.push((await small.inject({ method: 'GET', url: '/healthz' })).statusCode);
  }
  assert.deepEqual(codes, [200, 200, 200, 429, 429]);
});
