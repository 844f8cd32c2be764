/** Opens the annotation store named by `--db` (see parseDbUrl). */
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import { parseDbUrl, type AnnotationStore } from './types.js';

export * from './types.js';
export { openSqliteStore } from './sqlite.js';
export { openPostgresStore } from './postgres.js';

export function openStore(db: string): Promise<AnnotationStore> {
  const target = parseDbUrl(db);
  return target.kind === 'sqlite' ? openSqliteStore(target.path) : openPostgresStore(target.url);
}
