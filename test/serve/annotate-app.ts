/**
 * A fresh annotation app per test (fastify inject, no sockets) on a fresh store, with two
 * annotators (alice, bob) and, unless told otherwise, projects "solo" (k = 1) and "pair" (k = 2)
 * holding tasks q1 (priority 2) and q2. Cleaned up when the test ends.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildAnnotateApp, type AnnotateAppOptions } from '../../src/serve/annotate/app.js';
import type { AnnotationStore } from '../../src/store/types.js';
import { openFixture, type StoreFixture, type StoreKind } from './annotate-stores.js';

export const ADMIN = 'admin-secret-0123456789';
export type Method = 'GET' | 'POST' | 'PATCH';

export interface AppFixture {
  app: FastifyInstance;
  store: AnnotationStore;
  fixture: StoreFixture;
  tokens: Record<string, string>;
  call(method: Method, url: string, token?: string, body?: unknown): Promise<LightMyRequestResponse>;
  admin(method: Method, url: string, body?: unknown): Promise<LightMyRequestResponse>;
  as(who: string, method: Method, url: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** Logs in with a token: the session cookie and CSRF token. */
  login(token: string): Promise<{ cookie: string; csrf: string }>;
}

export const TASKS = [
  { id: 'q1', prompt: 'p1', a: 'A1', b: 'B1', priority: 2 },
  { id: 'q2', prompt: 'p2', a: 'A2', b: 'B2', priority: 1 },
];

export async function appFixture(
  t: TestContext,
  o: { kind?: StoreKind; projects?: boolean; app?: Partial<AnnotateAppOptions> } = {},
): Promise<AppFixture | undefined> {
  const fixture = await openFixture(o.kind ?? 'sqlite');
  if (fixture === undefined) {
    t.skip('PostgreSQL is not installed');
    return undefined;
  }
  const app = await buildAnnotateApp({ store: fixture.store, adminToken: ADMIN, ...o.app });
  t.after(async () => {
    await app.close();
    await fixture.close();
  });
  const call = (method: Method, url: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return app.inject({
      method,
      url,
      headers,
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  const tokens: Record<string, string> = {};
  const f: AppFixture = {
    app,
    store: fixture.store,
    fixture,
    tokens,
    call,
    admin: (m, url, body) => call(m, url, ADMIN, body),
    as: (who, m, url, body) => call(m, url, tokens[who], body),
    login: async (token) => {
      const r = await app.inject({
        method: 'POST',
        url: '/api/login',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ token }),
      });
      assert.equal(r.statusCode, 200, r.body);
      return {
        cookie: String(r.headers['set-cookie']).split(';')[0],
        csrf: (r.json() as { csrf: string }).csrf,
      };
    },
  };
  for (const name of ['alice', 'bob']) {
    const r = await f.admin('POST', '/api/annotators', { name });
    assert.equal(r.statusCode, 201, r.body);
    tokens[name] = (r.json() as { token: string }).token;
  }
  if (o.projects !== false) {
    for (const [name, k] of [
      ['solo', 1],
      ['pair', 2],
    ] as const) {
      assert.equal((await f.admin('POST', '/api/projects', { name, k })).statusCode, 201);
      assert.equal((await f.admin('POST', `/api/projects/${name}/tasks`, { tasks: TASKS })).statusCode, 200);
    }
  }
  return f;
}

export function isJsonError(r: LightMyRequestResponse, status: number, code?: string): void {
  assert.equal(r.statusCode, status, r.body);
  const j = r.json() as { error: string; message: string };
  assert.equal(typeof j.message, 'string');
  if (code) assert.equal(j.error, code);
}

export async function taskCount(store: AnnotationStore, project: string): Promise<number> {
  const p = await store.getProject(project);
  return (await store.queueCounts(p!.id, Date.now())).tasks;
}

export async function annotationCount(store: AnnotationStore, project: string): Promise<number> {
  const p = await store.getProject(project);
  return (await store.annotations(p!.id, null)).length;
}
