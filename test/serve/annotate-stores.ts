/**
 * Store fixtures for the annotation tests: a fresh, empty store per call, on SQLite (a temp file)
 * or PostgreSQL (a new database in one throwaway cluster per test file, started on first use and
 * stopped after the file's tests). Every fixture removes what it created.
 */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type AnnotationStore } from '../../src/store/index.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

export interface StoreFixture {
  kind: StoreKind;
  db: string;
  store: AnnotationStore;
  /** The SQLite file (sqlite only). */
  file?: string;
  close(): Promise<void>;
}

let cluster: Promise<PgCluster | undefined> | undefined;
let dbSeq = 0;
after(async () => (await cluster)?.stop());

/** A new empty database URL, or undefined when PostgreSQL is not installed (and not expected). */
export async function freshPgUrl(): Promise<string | undefined> {
  cluster ??= startPgCluster({ fsync: false });
  const c = await cluster;
  if (c === undefined) return undefined;
  const name = `t${process.pid}_${++dbSeq}`;
  const client = new pg.Client({ connectionString: c.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return c.url.replace(/\/postgres$/, `/${name}`);
}

/** A fresh store of `kind`, or undefined (PostgreSQL missing). */
export async function openFixture(kind: StoreKind): Promise<StoreFixture | undefined> {
  if (kind === 'postgres') {
    const db = await freshPgUrl();
    if (db === undefined) return undefined;
    const store = await openStore(db);
    return { kind, db, store, close: () => store.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'gshf-annotate-'));
  const file = join(dir, 'a.db');
  const db = `sqlite:${file}`;
  const store = await openStore(db);
  return {
    kind,
    db,
    store,
    file,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
