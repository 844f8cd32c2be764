/** Starts the annotation service on a store (what `gshf serve` runs), and the token commands' store calls. */
import { openStore, type Annotator, type AnnotationStore } from '../../store/index.js';
import { buildAnnotateApp } from './app.js';
import { newAnnotatorToken } from './auth.js';
import type { RequestLogSink } from './request-log.js';

export interface AnnotateServerOptions {
  /** `sqlite:path` (default store) or `postgres://…`. */
  db: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  adminToken: string;
  rateLimitPerMinute?: number;
  /** Request log lines (none when absent; `gshf serve` writes them to stderr unless --no-request-log). */
  requestLog?: RequestLogSink;
}

export interface RunningAnnotateServer {
  url: string;
  store: AnnotationStore;
  close(): Promise<void>;
}

export async function startAnnotateServer(opts: AnnotateServerOptions): Promise<RunningAnnotateServer> {
  const store = await openStore(opts.db);
  try {
    const app = await buildAnnotateApp({
      store,
      adminToken: opts.adminToken,
      rateLimitPerMinute: opts.rateLimitPerMinute,
      requestLog: opts.requestLog,
    });
    await app.listen({ host: opts.host, port: opts.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    return {
      url: `http://${host}:${port}`,
      store,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function withStore<T>(db: string, fn: (s: AnnotationStore) => Promise<T>): Promise<T> {
  const store = await openStore(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Creates an annotator directly in the store; returns the raw token (shown once). */
export function addAnnotatorToken(
  db: string,
  name: string,
  expiresAt: number | null = null,
): Promise<string> {
  return withStore(db, async (store) => {
    const { row, token } = await newAnnotatorToken(name);
    const a = await store.createAnnotator({ ...row, expiresAt }, Date.now());
    if (a === 'exists') throw new Error(`annotator "${name}" exists (names are unique)`);
    return token;
  });
}

/**
 * Revokes an annotator's token in the store. A running server sees it on the next request (it
 * reads the annotator row on every request) and the annotator's sessions are deleted.
 */
export function revokeAnnotatorToken(db: string, name: string): Promise<Annotator> {
  return withStore(db, async (store) => {
    const a = await store.setAnnotatorAccess(name, { revokedAt: Date.now() });
    if (a === undefined) throw new Error(`no annotator "${name}"`);
    return a;
  });
}

/** Replaces an annotator's token (the old one and its sessions stop working); returns the new token. */
export function rotateAnnotatorTokenIn(db: string, name: string): Promise<string> {
  return withStore(db, async (store) => {
    const { row, token } = await newAnnotatorToken(name);
    const a = await store.rotateAnnotatorToken(name, row);
    if (a === undefined) throw new Error(`no annotator "${name}"`);
    return token;
  });
}
