/** Starts the annotation service on a store (what `gshf serve` runs). */
import { openStore, type AnnotationStore } from '../../store/index.js';
import { buildAnnotateApp } from './app.js';
import { newAnnotatorToken } from './auth.js';

export interface AnnotateServerOptions {
  /** `sqlite:path` (default store) or `postgres://…`. */
  db: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  adminToken: string;
  rateLimitPerMinute?: number;
  logger?: boolean;
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
      logger: opts.logger,
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

/** Creates an annotator directly in the store; returns the raw token (shown once). */
export async function addAnnotatorToken(db: string, name: string): Promise<string> {
  const store = await openStore(db);
  try {
    const { row, token } = newAnnotatorToken(name);
    const a = await store.createAnnotator(row, Date.now());
    if (a === 'exists') throw new Error(`annotator "${name}" exists (names are unique)`);
    return token;
  } finally {
    await store.close();
  }
}
