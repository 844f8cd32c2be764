/**
 * PostgreSQL store (for teams): a `pg` pool; every store call is one transaction; queue
 * transactions take `pg_advisory_xact_lock(1, project_id)` so leases are not over-issued and
 * annotation ids (the label cursor) are assigned in commit order.
 */
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { migrate, SqlAnnotationStore, type Param, type Row, type SqlDriver, type SqlTx } from './sql.js';

/** `?` placeholders → `$1, $2, …` (our SQL has no `?` inside literals). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

class PostgresDriver implements SqlDriver {
  readonly kind = 'postgres' as const;
  constructor(private readonly pool: pg.Pool) {}

  async transaction<T>(lockKey: number | null, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: SqlTx = {
      all: async (sql: string, params: readonly Param[] = []) =>
        (await client.query(numbered(sql), params as Param[])).rows as Row[],
      run: async (sql: string, params: readonly Param[] = []) =>
        (await client.query(numbered(sql), params as Param[])).rowCount ?? 0,
    };
    try {
      await client.query('BEGIN');
      if (lockKey !== null) await client.query('SELECT pg_advisory_xact_lock(1, $1)', [lockKey]);
      const out = await fn(tx);
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Connects to `url` (postgres://…) and applies pending migrations. */
export async function openPostgresStore(url: string, poolSize = 10): Promise<SqlAnnotationStore> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => undefined); // idle-client errors surface on the next query instead
  const driver = new PostgresDriver(pool);
  await migrate(driver, POSTGRES_MIGRATIONS);
  return new SqlAnnotationStore(driver);
}
