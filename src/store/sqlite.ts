/**
 * SQLite store (the default): one file, WAL journal, synchronous=NORMAL (a committed transaction
 * survives a crash of the process; see src/store/README.md), foreign keys on. better-sqlite3 is
 * synchronous, so transactions are serialised through a promise chain and run BEGIN IMMEDIATE …
 * COMMIT around the async queue code (whose awaits resolve without I/O).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { migrate, SqlAnnotationStore, type Param, type Row, type SqlDriver, type SqlTx } from './sql.js';

class SqliteDriver implements SqlDriver {
  readonly kind = 'sqlite' as const;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly tx: SqlTx;

  constructor(private readonly db: Database.Database) {
    const stmts = new Map<string, Database.Statement>();
    const prep = (sql: string): Database.Statement => {
      let s = stmts.get(sql);
      if (s === undefined) {
        s = db.prepare(sql);
        stmts.set(sql, s);
      }
      return s;
    };
    this.tx = {
      all: async (sql: string, params: readonly Param[] = []) => {
        const s = prep(sql);
        if (s.reader) return s.all(...params) as Row[];
        s.run(...params);
        return [];
      },
      run: async (sql: string, params: readonly Param[] = []) => {
        const s = prep(sql);
        return s.reader ? s.all(...params).length : s.run(...params).changes;
      },
    };
  }

  transaction<T>(_lockKey: number | null, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.tx);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    this.db.close();
  }
}

/**
 * Creates the database file 0600 before SQLite opens it (SQLite gives the -wal and -shm files the
 * main file's mode), and tightens an existing file and its companions to 0600: they hold token
 * hashes and every annotation.
 */
function ownerOnly(path: string): void {
  if (path === ':memory:') return;
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

/** Opens (creating if needed) the SQLite file and applies pending migrations. */
export async function openSqliteStore(path: string): Promise<SqlAnnotationStore> {
  ownerOnly(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const driver = new SqliteDriver(db);
  await migrate(driver, SQLITE_MIGRATIONS);
  ownerOnly(path); // the -wal/-shm files now exist
  return new SqlAnnotationStore(driver);
}
