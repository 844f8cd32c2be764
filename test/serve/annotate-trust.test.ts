// Regression tests for the credential and consistency defects, on SQLite and PostgreSQL: sessions
// bound to the credential that made them, revocation / rotation / expiry effective at once (no
// stale cache, CLI included), failed-authentication limits per address and per token with no
// hashing of refused attempts, 0600 database files, the request log, NUL and lone surrogates,
// idempotent re-push of exotic text, duplicate JSON keys, and auth on the decoded path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildAnnotateApp } from '../../src/serve/annotate/app.js';
import { secretChecks } from '../../src/serve/annotate/auth.js';
import type { RequestLogEntry } from '../../src/serve/annotate/request-log.js';
import { revokeAnnotatorToken } from '../../src/serve/annotate/server.js';
import { StoreInputError, type AnnotationStore } from '../../src/store/types.js';
import { ADMIN, appFixture, isJsonError, taskCount } from './annotate-app.js';
import { openFixture, STORE_KINDS } from './annotate-stores.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const gshf = (args: string[]) =>
  execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
const NUL = 'a\u0000b';
const LONE = 'x\ud800y';
const EXOTIC = 'héllo 👋🏽 \u{1F600} \uFFFF \u2028 line\r\nbreak \u202Eevil\u202C e\u0301 \t "quotes" \\ 𝔘';

for (const kind of STORE_KINDS) {
  describe(`annotation service trust: ${kind}`, () => {
    test('an admin session ends when the admin token is rotated (restart with a new token)', async (t) => {
      const f = await appFixture(t, { kind, projects: false });
      if (!f) return;
      const { cookie } = await f.login(ADMIN);
      const me = () => ({ method: 'GET' as const, url: '/api/me', headers: { cookie } });
      assert.equal((await f.app.inject(me())).statusCode, 200);
      const same = await buildAnnotateApp({ store: f.store, adminToken: ADMIN });
      const rotated = await buildAnnotateApp({ store: f.store, adminToken: 'a-new-admin-token-987654321' });
      t.after(async () => {
        await same.close();
        await rotated.close();
      });
      assert.equal((await same.inject(me())).statusCode, 200); // a restart with the same token keeps it
      isJsonError(await rotated.inject(me()), 401, 'unauthorized');
      isJsonError(await f.app.inject(me()), 401); // and it was deleted, not merely refused
    });

    test('revoking or rotating an annotator token ends its bearer use and sessions at once', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      const alice = await f.login(f.tokens.alice);
      const bob = await f.login(f.tokens.bob);
      const sessionGet = (c: { cookie: string }) =>
        f.app.inject({ method: 'GET', url: '/api/projects', headers: { cookie: c.cookie } });
      assert.equal((await f.as('alice', 'GET', '/api/projects')).statusCode, 200); // now cached
      assert.equal((await sessionGet(alice)).statusCode, 200);
      const rv = await f.admin('POST', '/api/annotators/alice/revoke');
      assert.equal(rv.statusCode, 200, rv.body);
      assert.equal(rv.json().state, 'revoked');
      isJsonError(await f.as('alice', 'GET', '/api/projects'), 401, 'unauthorized');
      isJsonError(await sessionGet(alice), 401);
      isJsonError(
        await f.app.inject({
          method: 'POST',
          url: '/api/login',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ token: f.tokens.alice }),
        }),
        401,
      );
      // Rotation: the old token and its session stop working, the new one works.
      const rot = await f.admin('POST', '/api/annotators/bob/token');
      assert.equal(rot.statusCode, 200, rot.body);
      const fresh = String(rot.json().token);
      assert.notEqual(fresh, f.tokens.bob);
      isJsonError(await f.as('bob', 'GET', '/api/projects'), 401);
      isJsonError(await sessionGet(bob), 401);
      assert.equal((await f.call('GET', '/api/projects', fresh)).statusCode, 200);
      isJsonError(await f.admin('POST', '/api/annotators/nobody/revoke'), 404, 'unknown_annotator');
      const list = (await f.admin('GET', '/api/annotators')).json().annotators as {
        name: string;
        state: string;
      }[];
      assert.deepEqual(
        list.map((a) => [a.name, a.state]),
        [
          ['alice', 'revoked'],
          ['bob', 'active'],
        ],
      );
    });

    test('token expiry set through the API takes effect at the stated time', async (t) => {
      let clock = 1_800_000_000_000;
      const f = await appFixture(t, { kind, app: { now: () => clock } });
      if (!f) return;
      const s = await f.login(f.tokens.alice);
      const r = await f.admin('PATCH', '/api/annotators/alice', { expires_at: clock + 60_000 });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal((await f.as('alice', 'GET', '/api/projects')).statusCode, 200);
      clock += 60_000;
      isJsonError(await f.as('alice', 'GET', '/api/projects'), 401);
      isJsonError(await f.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: s.cookie } }), 401);
      assert.equal((await f.admin('PATCH', '/api/annotators/alice', { expires_at: null })).statusCode, 200);
      assert.equal((await f.as('alice', 'GET', '/api/projects')).statusCode, 200);
      const created = await f.admin('POST', '/api/annotators', { name: 'temp', expires_at: clock - 1 });
      assert.equal(created.json().state, 'expired');
      isJsonError(await f.call('GET', '/api/projects', String(created.json().token)), 401);
    });

    test('`gshf serve token revoke` on the store is seen by a running server at once', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      assert.equal((await f.as('bob', 'GET', '/api/projects')).statusCode, 200);
      const s = await f.login(f.tokens.bob);
      const out = gshf(['serve', '--db', f.fixture.db, 'token', 'revoke', '--annotator', 'bob']);
      assert.match(out, /annotator "bob": token revoked/);
      isJsonError(await f.as('bob', 'GET', '/api/projects'), 401);
      isJsonError(await f.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: s.cookie } }), 401);
      assert.equal((await f.as('alice', 'GET', '/api/projects')).statusCode, 200);
      // `token rotate` prints a new token that works at once; the old one does not.
      const fresh = gshf(['serve', '--db', f.fixture.db, 'token', 'rotate', '--annotator', 'alice']).trim();
      assert.match(fresh, /^gsa_[0-9a-f]{12}_/);
      assert.equal((await f.call('GET', '/api/projects', fresh)).statusCode, 200);
      isJsonError(await f.as('alice', 'GET', '/api/projects'), 401);
      // And the store function behind it refuses an unknown name.
      await assert.rejects(revokeAnnotatorToken(f.fixture.db, 'nobody'), /no annotator "nobody"/);
    });

    test('NUL and lone surrogates are refused with a 400 naming the field; nothing is written', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      const cases: [string, unknown, RegExp][] = [
        ['/api/projects', { name: 'n1', description: NUL }, /body\.description: .*NUL/],
        ['/api/projects', { name: 'n2', guidelines: LONE }, /body\.guidelines: .*surrogate/],
        [
          '/api/projects/solo/tasks',
          { tasks: [{ id: 'z', prompt: NUL, a: '', b: '' }] },
          /body\.tasks\.0\.prompt: .*NUL/,
        ],
        [
          '/api/projects/solo/tasks',
          { tasks: [{ id: 'z', prompt: '', a: LONE, b: '' }] },
          /body\.tasks\.0\.a: .*surrogate/,
        ],
        [
          '/api/projects/solo/tasks',
          { tasks: [{ id: NUL, prompt: '', a: '', b: '' }] },
          /body\.tasks\.0\.id: .*NUL/,
        ],
        [
          '/api/projects/solo/tasks',
          { tasks: [{ id: 'z', prompt: '', a: '', b: '', metadata: { src: LONE } }] },
          /body\.tasks\.0\.metadata\.src: .*surrogate/,
        ],
      ];
      for (const [url, body, re] of cases) {
        const r = await f.admin('POST', url, body);
        isJsonError(r, 400, 'bad_request');
        assert.match(r.json().message, re);
      }
      assert.equal(await taskCount(f.store, 'solo'), 2);
      assert.equal((await f.store.listProjects()).length, 2);
      const lease = (await f.as('alice', 'POST', '/api/projects/solo/next')).json().task as { id: number };
      const url = `/api/projects/solo/tasks/${lease.id}/annotations`;
      for (const [body, re] of [
        [{ choice: 'left', rationale: NUL }, /body\.rationale: .*NUL/],
        [{ choice: 'left', rationale: LONE }, /body\.rationale: .*surrogate/],
        [{ choice: 'left', idempotency_key: `key-${NUL}-123` }, /body\.idempotency_key: .*NUL/],
      ] as const) {
        const r = await f.as('alice', 'POST', url, body);
        isJsonError(r, 400);
        assert.match(r.json().message, re);
      }
      assert.equal((await f.store.annotations((await f.store.getProject('solo'))!.id, null)).length, 0);
      // The store refuses the same text itself (a caller that skips the service's checks).
      const p = (await f.store.getProject('solo'))!;
      await assert.rejects(
        f.store.pushTasks(p.id, [{ extId: 'n', prompt: NUL, a: '', b: '', priority: 0, gold: null }], 0),
        (e: unknown) => e instanceof StoreInputError && e.field === 'tasks.0.prompt',
      );
    });

    test('a re-push of any accepted task is a no-op: exotic text comes back byte-identical', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      const tasks = [
        {
          id: `ex-${EXOTIC}`,
          prompt: EXOTIC,
          a: EXOTIC + 'a',
          b: 'b' + EXOTIC,
          metadata: { note: EXOTIC, n: 1.5 },
        },
        {
          id: 'rank',
          kind: 'ranking',
          prompt: EXOTIC,
          responses: ['r0', EXOTIC, 'r2'],
          metadata: { z: 1, a: true },
        },
        {
          id: 'rate',
          kind: 'rating',
          prompt: 'p',
          responses: [EXOTIC],
          scale: { dimensions: ['help', 'safe'], min: 1, max: 7 },
        },
      ];
      assert.equal((await f.admin('POST', '/api/projects', { name: 'ex', k: 1 })).statusCode, 201);
      const first = await f.admin('POST', '/api/projects/ex/tasks', { tasks });
      assert.deepEqual(first.json(), { inserted: 3, existing: 0 });
      // Same content, metadata keys in another order: still the same task.
      const again = tasks.map((x) => ({
        ...x,
        metadata: Object.fromEntries(Object.entries(x.metadata ?? {}).reverse()),
      }));
      assert.deepEqual((await f.admin('POST', '/api/projects/ex/tasks', { tasks: again })).json(), {
        inserted: 0,
        existing: 3,
      });
      const stored = await f.store.tasksWithAnnotations((await f.store.getProject('ex'))!.id);
      assert.equal(stored[0].task.extId, `ex-${EXOTIC}`);
      assert.equal(stored[0].task.prompt, EXOTIC);
      assert.equal(stored[0].task.a, EXOTIC + 'a');
      assert.deepEqual(stored[0].task.metadata, { n: 1.5, note: EXOTIC });
      assert.deepEqual(stored[1].task.responses, ['r0', EXOTIC, 'r2']);
      assert.deepEqual(stored[2].task.scale, { dimensions: ['help', 'safe'], min: 1, max: 7 });
      const changed = [{ ...tasks[1], responses: ['r0', EXOTIC, 'r2 changed'] }];
      isJsonError(await f.admin('POST', '/api/projects/ex/tasks', { tasks: changed }), 409, 'task_conflict');
    });

    test('duplicate JSON keys are refused; routing and auth use the decoded path', async (t) => {
      const f = await appFixture(t, { kind });
      if (!f) return;
      const raw = (url: string, payload: string, token = ADMIN) =>
        f.app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload,
        });
      let r = await raw('/api/projects', '{"name": "dup", "k": 1, "k": 3}');
      isJsonError(r, 400, 'bad_request');
      assert.match(r.json().message, /duplicate key "k"/);
      assert.equal(await f.store.getProject('dup'), undefined);
      const lease = (await f.as('alice', 'POST', '/api/projects/solo/next')).json().task as { id: number };
      r = await raw(
        `/api/projects/solo/tasks/${lease.id}/annotations`,
        '{"choice": "left", "choice": "right"}',
        f.tokens.alice,
      );
      isJsonError(r, 400);
      // Percent-encoded paths reach the same route with the same checks.
      const s = await f.login(f.tokens.alice);
      isJsonError(
        await f.app.inject({ method: 'POST', url: '/%61pi/logout', headers: { cookie: s.cookie } }),
        403,
        'csrf',
      );
      assert.equal(
        (await f.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: s.cookie } })).statusCode,
        200,
      );
      isJsonError(await f.call('GET', '/%61pi/projects'), 401);
      isJsonError(await f.as('alice', 'GET', '/api/%70rojects/solo/stats'), 403, 'forbidden');
      isJsonError(await f.admin('POST', '/api/projects/%73olo/next'), 403, 'forbidden');
      isJsonError(await f.call('GET', '/api/projects/solo/%65xport.jsonl'), 401);
    });
  });
}

describe('annotation service trust: store-independent', () => {
  test('failed authentications are limited per address and per token; refused ones cost no hashing', async (t) => {
    const f = await appFixture(t, { app: { authFailures: { perAddress: 3, perToken: 2 } } });
    if (!f) return;
    const from = (remoteAddress: string, token: string) =>
      f.app.inject({
        method: 'GET',
        url: '/api/projects',
        remoteAddress,
        headers: { authorization: `Bearer ${token}` },
      });
    assert.equal((await from('10.0.0.1', f.tokens.alice)).statusCode, 200); // alice's token is now known-good
    // Per address: three guesses at different (unknown) token ids from one address, then even a
    // new guess is refused before any lookup or hashing.
    const guessAt = (i: number) => `gsa_${String(i).padStart(12, '0')}_${'x'.repeat(43)}`;
    for (let i = 0; i < 3; i++) isJsonError(await from('10.0.0.1', guessAt(i)), 401);
    isJsonError(await from('10.0.0.1', guessAt(9)), 429, 'auth_throttled');
    isJsonError(await from('10.0.0.1', f.tokens.bob), 429, 'auth_throttled'); // not yet verified: throttled too
    assert.equal((await from('10.0.0.1', f.tokens.alice)).statusCode, 200); // a known-good token still works
    const r = await from('10.0.0.1', guessAt(10));
    assert.ok(Number(r.headers['retry-after']) > 0);
    // Per token: admin-length guesses from different addresses are hashed until the admin token's
    // budget is spent, then refused without hashing; the (already verified) admin token still works.
    const before = secretChecks();
    isJsonError(await from('10.0.0.2', 'a'.repeat(ADMIN.length)), 401);
    isJsonError(await from('10.0.0.3', 'b'.repeat(ADMIN.length)), 401);
    assert.equal(secretChecks() - before, 2);
    isJsonError(await from('10.0.0.4', 'c'.repeat(ADMIN.length)), 429, 'auth_throttled');
    assert.equal(secretChecks() - before, 2); // the refused attempt ran no scrypt
    assert.equal((await f.admin('GET', '/api/projects')).statusCode, 200);
    // Per token: guesses at bob's token id from two addresses lock that token id for everyone new.
    const guess = f.tokens.bob.slice(0, -4) + 'AAAA';
    isJsonError(await from('10.0.1.1', guess), 401);
    isJsonError(await from('10.0.1.2', guess), 401);
    isJsonError(await from('10.0.1.3', guess), 429, 'auth_throttled');
    // Wrong-shaped tokens are refused without hashing (with the default limits).
    const g = await appFixture(t, { projects: false });
    assert.ok(g);
    const b2 = secretChecks();
    isJsonError(await g.call('GET', '/api/projects', 'short'), 401);
    isJsonError(await g.call('GET', '/api/projects', 'gsa_nothex_' + 'x'.repeat(40)), 401);
    isJsonError(await g.call('GET', '/api/projects', `gsa_${'0'.repeat(12)}_${'x'.repeat(43)}`), 401);
    assert.equal(secretChecks(), b2);
    // Login counts failures the same way.
    const login = (remoteAddress: string, token: string) =>
      f.app.inject({
        method: 'POST',
        url: '/api/login',
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ token }),
      });
    isJsonError(await login('10.0.3.1', guessAt(21)), 401);
    isJsonError(await login('10.0.3.1', guessAt(22)), 401);
    isJsonError(await login('10.0.3.1', guessAt(23)), 401);
    isJsonError(await login('10.0.3.1', guessAt(24)), 429, 'auth_throttled');
  });

  test('the SQLite file and its -wal/-shm are created 0600, whatever the umask', async (t) => {
    const old = process.umask(0);
    let f;
    try {
      f = await openFixture('sqlite');
    } finally {
      process.umask(old);
    }
    assert.ok(f?.file);
    t.after(() => f.close());
    await f.store.createProject({ name: 'x', description: '', k: 1, leaseSeconds: 60 }, 0);
    for (const file of [f.file, `${f.file}-wal`, `${f.file}-shm`]) {
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
    }
  });

  test('the request log writes every 5xx with its request id, and no token, cookie or CSRF value', async (t) => {
    const f = await openFixture('sqlite');
    assert.ok(f);
    t.after(() => f.close());
    const broken = new Proxy(f.store, {
      get(target, prop, recv) {
        if (prop === 'listProjects') return () => Promise.reject(new Error('disk on fire'));
        const v = Reflect.get(target, prop, recv) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as AnnotationStore;
    const log: RequestLogEntry[] = [];
    const app = await buildAnnotateApp({ store: broken, adminToken: ADMIN, requestLog: (e) => log.push(e) });
    t.after(() => app.close());
    const login = await app.inject({
      method: 'POST',
      url: '/api/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token: ADMIN }),
    });
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    const csrf = String(login.json().csrf);
    const r = await app.inject({
      method: 'GET',
      url: '/api/projects?token=' + ADMIN,
      headers: { cookie, 'x-csrf-token': csrf, authorization: `Bearer ${ADMIN}` },
    });
    isJsonError(r, 500, 'internal');
    const id = String(r.json().request_id);
    assert.equal(r.headers['x-request-id'], id);
    assert.match(r.json().message, new RegExp(id));
    const line = log.find((e) => e.id === id);
    assert.deepEqual(line && [line.status, line.method, line.path, line.route, line.error], [
      500,
      'GET',
      '/api/projects',
      '/api/projects',
      'Error: disk on fire',
    ]);
    assert.equal(log.length, 2); // the login and the failure
    const text = JSON.stringify(log);
    for (const secret of [ADMIN, cookie.split('=')[1], csrf]) assert.ok(!text.includes(secret));
  });
});
