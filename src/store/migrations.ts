/**
 * Schema migrations for both stores, applied in order inside a transaction and recorded in
 * `schema_migrations` (version = index + 1). Never edit a released migration: append a new one.
 * Times are integer milliseconds since the epoch; ids are the cursors of the label feed.
 */

/**
 * 3: token revocation/expiry, sessions bound to their credential, guidelines, ranking and rating
 * tasks (responses and scale as JSON text), metadata, the shown order of a ranking, and the answer
 * of a ranking or rating. JSON is kept as TEXT so both stores return it byte-identically.
 */
function migration3(bigint: 'INTEGER' | 'BIGINT'): string {
  return `
  ALTER TABLE annotators ADD COLUMN revoked_at ${bigint};
  ALTER TABLE annotators ADD COLUMN expires_at ${bigint};
  ALTER TABLE sessions ADD COLUMN credential TEXT;
  ALTER TABLE projects ADD COLUMN guidelines TEXT NOT NULL DEFAULT '';
  ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'pair';
  ALTER TABLE tasks ADD COLUMN responses TEXT;
  ALTER TABLE tasks ADD COLUMN scale TEXT;
  ALTER TABLE tasks ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE leases ADD COLUMN shown_order TEXT;
  ALTER TABLE annotations ADD COLUMN answer TEXT;
  CREATE INDEX sessions_annotator ON sessions (annotator_id);
  `;
}

/** 4: an undone answer's lease is reopened and offered before any other open lease. */
const MIGRATION4 = `ALTER TABLE leases ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0`;

export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    k INTEGER NOT NULL,
    lease_s INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE annotators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    token_id TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    annotator_id INTEGER REFERENCES annotators(id),
    csrf TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    ext_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    priority REAL NOT NULL,
    gold TEXT,
    n_done INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, ext_id)
  );
  CREATE INDEX tasks_queue ON tasks (project_id, priority DESC, id);
  CREATE TABLE leases (
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    project_id INTEGER NOT NULL,
    swapped INTEGER NOT NULL,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, annotator_id)
  );
  CREATE INDEX leases_open ON leases (annotator_id, project_id, state);
  CREATE TABLE annotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    project_id INTEGER NOT NULL,
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    verdict TEXT NOT NULL,
    shown_swapped INTEGER NOT NULL,
    rationale TEXT NOT NULL,
    idem_key TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (task_id, annotator_id),
    UNIQUE (annotator_id, idem_key)
  );
  CREATE INDEX annotations_project ON annotations (project_id, id);
  `,
  `
  CREATE INDEX leases_project ON leases (project_id, state, expires_at);
  CREATE INDEX annotations_annotator ON annotations (annotator_id, project_id);
  CREATE INDEX tasks_open ON tasks (project_id, n_done);
  `,
  migration3('INTEGER'),
  MIGRATION4,
];

export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    k INTEGER NOT NULL,
    lease_s INTEGER NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE annotators (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_id TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    annotator_id BIGINT REFERENCES annotators(id),
    csrf TEXT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE TABLE tasks (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    ext_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    priority DOUBLE PRECISION NOT NULL,
    gold TEXT,
    n_done INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, ext_id)
  );
  CREATE INDEX tasks_queue ON tasks (project_id, priority DESC, id);
  CREATE TABLE leases (
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    annotator_id BIGINT NOT NULL REFERENCES annotators(id),
    project_id BIGINT NOT NULL,
    swapped BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, annotator_id)
  );
  CREATE INDEX leases_open ON leases (annotator_id, project_id, state);
  CREATE TABLE annotations (
    id BIGSERIAL PRIMARY KEY,
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    project_id BIGINT NOT NULL,
    annotator_id BIGINT NOT NULL REFERENCES annotators(id),
    verdict TEXT NOT NULL,
    shown_swapped BOOLEAN NOT NULL,
    rationale TEXT NOT NULL,
    idem_key TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (task_id, annotator_id),
    UNIQUE (annotator_id, idem_key)
  );
  CREATE INDEX annotations_project ON annotations (project_id, id);
  `,
  `
  CREATE INDEX leases_project ON leases (project_id, state, expires_at);
  CREATE INDEX annotations_annotator ON annotations (annotator_id, project_id);
  CREATE INDEX tasks_open ON tasks (project_id, n_done);
  `,
  migration3('BIGINT'),
  MIGRATION4,
];
