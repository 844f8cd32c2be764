/**
 * The queue logic of the annotation store, written once over a tiny SQL driver that both SQLite and
 * PostgreSQL implement (`?` placeholders, RETURNING, ON CONFLICT: the common subset of both dialects).
 * Every public method is one transaction; PostgreSQL transactions that touch a project's queue take
 * an advisory lock on the project, so leases are not over-issued and annotation ids (the label-feed
 * cursor) are assigned in commit order. SQLite transactions are serialised by the driver.
 */
import type { Verdict } from '../iterate/labels.js';
import {
  choiceToVerdict,
  type AnnotationRow,
  type AnnotationStore,
  type Annotator,
  type AnnotatorCredentials,
  type Lease,
  type NewAnnotator,
  type NewProject,
  type NewTask,
  type Project,
  type PushResult,
  type QueueCounts,
  type Session,
  type StoredVerdict,
  type Submission,
  type SubmitResult,
  type Task,
  type TaskVotes,
} from './types.js';

export type Row = Record<string, unknown>;
export type Param = string | number | null;

export interface SqlTx {
  all(sql: string, params?: readonly Param[]): Promise<Row[]>;
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

export interface SqlDriver {
  readonly kind: 'sqlite' | 'postgres';
  /** Runs fn in one transaction; `lockKey` (project id) serialises queue transactions on PostgreSQL. */
  transaction<T>(lockKey: number | null, fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const CHUNK = 500;

/** Applies the migrations not yet recorded in schema_migrations (each in its own transaction). */
export async function migrate(driver: SqlDriver, migrations: readonly string[]): Promise<void> {
  await driver.transaction(null, (tx) =>
    tx.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    ),
  );
  for (let i = 0; i < migrations.length; i++) {
    const version = i + 1;
    await driver.transaction(-1, async (tx) => {
      const done = await tx.all('SELECT version FROM schema_migrations WHERE version = ?', [version]);
      if (done.length > 0) return;
      const statements = migrations[i].split(';').filter((s) => s.trim().length > 0);
      for (const s of statements) await tx.run(s);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [
        version,
        Date.now(),
      ]);
    });
  }
}

export class SqlAnnotationStore implements AnnotationStore {
  constructor(private readonly db: SqlDriver) {}

  get kind(): 'sqlite' | 'postgres' {
    return this.db.kind;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- projects, annotators, sessions ----

  createProject(p: NewProject, now: number): Promise<Project | 'exists'> {
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `INSERT INTO projects (name, description, k, lease_s, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING RETURNING *`,
        [p.name, p.description, p.k, p.leaseSeconds, now],
      );
      return rows.length === 0 ? 'exists' : toProject(rows[0]);
    });
  }

  async getProject(name: string): Promise<Project | undefined> {
    const rows = await this.db.transaction(null, (tx) =>
      tx.all('SELECT * FROM projects WHERE name = ?', [name]),
    );
    return rows.length === 0 ? undefined : toProject(rows[0]);
  }

  async listProjects(): Promise<Project[]> {
    const rows = await this.db.transaction(null, (tx) => tx.all('SELECT * FROM projects ORDER BY id'));
    return rows.map(toProject);
  }

  createAnnotator(a: NewAnnotator, now: number): Promise<Annotator | 'exists'> {
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `INSERT INTO annotators (name, token_id, salt, hash, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING *`,
        [a.name, a.tokenId, a.salt, a.hash, now],
      );
      return rows.length === 0 ? 'exists' : toAnnotator(rows[0]);
    });
  }

  async annotatorByTokenId(tokenId: string): Promise<AnnotatorCredentials | undefined> {
    const rows = await this.db.transaction(null, (tx) =>
      tx.all('SELECT * FROM annotators WHERE token_id = ?', [tokenId]),
    );
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return { ...toAnnotator(r), tokenId: String(r.token_id), salt: String(r.salt), hash: String(r.hash) };
  }

  async annotatorById(id: number): Promise<Annotator | undefined> {
    const rows = await this.db.transaction(null, (tx) =>
      tx.all('SELECT * FROM annotators WHERE id = ?', [id]),
    );
    return rows.length === 0 ? undefined : toAnnotator(rows[0]);
  }

  async listAnnotators(): Promise<Annotator[]> {
    const rows = await this.db.transaction(null, (tx) => tx.all('SELECT * FROM annotators ORDER BY id'));
    return rows.map(toAnnotator);
  }

  async createSession(idHash: string, s: Session): Promise<void> {
    await this.db.transaction(null, async (tx) => {
      await tx.run('DELETE FROM sessions WHERE expires_at <= ?', [Date.now()]);
      await tx.run('INSERT INTO sessions (id_hash, annotator_id, csrf, expires_at) VALUES (?, ?, ?, ?)', [
        idHash,
        s.annotatorId,
        s.csrf,
        s.expiresAt,
      ]);
    });
  }

  async getSession(idHash: string, now: number): Promise<Session | undefined> {
    const rows = await this.db.transaction(null, (tx) =>
      tx.all('SELECT * FROM sessions WHERE id_hash = ? AND expires_at > ?', [idHash, now]),
    );
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return {
      annotatorId: r.annotator_id === null ? null : Number(r.annotator_id),
      csrf: String(r.csrf),
      expiresAt: Number(r.expires_at),
    };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.transaction(null, (tx) => tx.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]));
  }

  // ---- the queue ----

  pushTasks(
    projectId: number,
    tasks: readonly NewTask[],
    now: number,
  ): Promise<PushResult | { conflict: string }> {
    return this.db.transaction(projectId, async (tx) => {
      // Phase 1: compare with what is already there (a resumed push must carry the same content).
      const known = new Map<string, Row>();
      for (let i = 0; i < tasks.length; i += CHUNK) {
        const ids = tasks.slice(i, i + CHUNK).map((t) => t.extId);
        const rows = await tx.all(
          `SELECT ext_id, prompt, a, b, gold FROM tasks WHERE project_id = ? AND ext_id IN (${marks(ids.length)})`,
          [projectId, ...ids],
        );
        for (const r of rows) known.set(String(r.ext_id), r);
      }
      const fresh: NewTask[] = [];
      for (const t of tasks) {
        const r = known.get(t.extId);
        if (r === undefined) {
          known.set(t.extId, { ext_id: t.extId, prompt: t.prompt, a: t.a, b: t.b, gold: t.gold });
          fresh.push(t);
        } else if (r.prompt !== t.prompt || r.a !== t.a || r.b !== t.b || (r.gold ?? null) !== t.gold) {
          return { conflict: t.extId };
        }
      }
      // Phase 2: insert the new ones.
      for (const t of fresh) {
        await tx.run(
          `INSERT INTO tasks (project_id, ext_id, prompt, a, b, priority, gold, n_done, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`,
          [projectId, t.extId, t.prompt, t.a, t.b, t.priority, t.gold, now],
        );
      }
      return { inserted: fresh.length, existing: tasks.length - fresh.length };
    });
  }

  nextTask(
    projectId: number,
    annotatorId: number,
    now: number,
    leaseMs: number,
    swap: boolean,
  ): Promise<Lease | undefined> {
    return this.db.transaction(projectId, async (tx) => {
      // Phase 1: an open lease is returned again (a reload does not burn a task).
      const open = await tx.all(
        `SELECT t.*, l.swapped AS l_swapped, l.expires_at AS l_expires FROM leases l JOIN tasks t ON t.id = l.task_id
         WHERE l.annotator_id = ? AND l.project_id = ? AND l.state = 'open' AND l.expires_at > ?
         ORDER BY l.expires_at LIMIT 1`,
        [annotatorId, projectId, now],
      );
      if (open.length > 0) {
        const r = open[0];
        return { task: toTask(r), swapped: Boolean(r.l_swapped), expiresAt: Number(r.l_expires) };
      }
      // Phase 2: the highest-priority task this person has never been shown that still needs votes.
      const rows = await tx.all(
        `SELECT t.* FROM tasks t JOIN projects p ON p.id = t.project_id
         WHERE t.project_id = ?
           AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.annotator_id = ?)
           AND (t.gold IS NOT NULL OR t.n_done + (SELECT COUNT(*) FROM leases l2 WHERE l2.task_id = t.id
                AND l2.state = 'open' AND l2.expires_at > ?) < p.k)
         ORDER BY t.priority DESC, t.id ASC LIMIT 1`,
        [projectId, annotatorId, now],
      );
      if (rows.length === 0) return undefined;
      const task = toTask(rows[0]);
      const expiresAt = now + leaseMs;
      await tx.run(
        `INSERT INTO leases (task_id, annotator_id, project_id, swapped, state, expires_at) VALUES (?, ?, ?, ?, 'open', ?)`,
        [task.id, annotatorId, projectId, swap ? 1 : 0, expiresAt],
      );
      return { task, swapped: swap, expiresAt };
    });
  }

  submit(s: Submission): Promise<SubmitResult> {
    return this.db.transaction(s.projectId, async (tx) => {
      // Phase 1: the task must belong to the project.
      const t = await tx.all('SELECT id FROM tasks WHERE id = ? AND project_id = ?', [s.taskId, s.projectId]);
      if (t.length === 0) return { kind: 'unknown-task' };
      // Phase 2: replays (same key, or same task and same answer) return the first answer.
      if (s.idempotencyKey !== null) {
        const prev = await tx.all('SELECT * FROM annotations WHERE annotator_id = ? AND idem_key = ?', [
          s.annotatorId,
          s.idempotencyKey,
        ]);
        if (prev.length > 0) return replay(prev[0], s);
      }
      const prev = await tx.all('SELECT * FROM annotations WHERE task_id = ? AND annotator_id = ?', [
        s.taskId,
        s.annotatorId,
      ]);
      if (prev.length > 0) {
        const r = replay(prev[0], s);
        return r.kind === 'replayed' ? r : { kind: 'already-annotated' };
      }
      // Phase 3: a live lease is required; the answer is mapped back to the task's a/b order.
      const lease = await tx.all('SELECT * FROM leases WHERE task_id = ? AND annotator_id = ?', [
        s.taskId,
        s.annotatorId,
      ]);
      if (lease.length === 0 || lease[0].state !== 'open') return { kind: 'no-lease' };
      if (Number(lease[0].expires_at) <= s.now) return { kind: 'lease-expired' };
      const swapped = Boolean(lease[0].swapped);
      const verdict = choiceToVerdict(s.choice, swapped);
      const ins = await tx.all(
        `INSERT INTO annotations (task_id, project_id, annotator_id, verdict, shown_swapped, rationale, idem_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          s.taskId,
          s.projectId,
          s.annotatorId,
          verdict,
          swapped ? 1 : 0,
          s.rationale,
          s.idempotencyKey,
          s.now,
        ],
      );
      await tx.run(`UPDATE leases SET state = 'done' WHERE task_id = ? AND annotator_id = ?`, [
        s.taskId,
        s.annotatorId,
      ]);
      if (verdict !== 'skip') await tx.run('UPDATE tasks SET n_done = n_done + 1 WHERE id = ?', [s.taskId]);
      return { kind: 'created', annotationId: Number(ins[0].id), verdict };
    });
  }

  // ---- reading results ----

  async labelsSince(projectId: number, cursor: number, limit: number): Promise<AnnotationRow[]> {
    const rows = await this.db.transaction(null, (tx) =>
      tx.all(
        `${ANNOTATION_SELECT} WHERE n.project_id = ? AND n.id > ? AND n.verdict <> 'skip' ORDER BY n.id LIMIT ?`,
        [projectId, cursor, limit],
      ),
    );
    return rows.map(toAnnotation);
  }

  async annotations(projectId: number, annotatorId: number | null): Promise<AnnotationRow[]> {
    const rows = await this.db.transaction(null, (tx) =>
      annotatorId === null
        ? tx.all(`${ANNOTATION_SELECT} WHERE n.project_id = ? ORDER BY n.id`, [projectId])
        : tx.all(`${ANNOTATION_SELECT} WHERE n.project_id = ? AND n.annotator_id = ? ORDER BY n.id`, [
            projectId,
            annotatorId,
          ]),
    );
    return rows.map(toAnnotation);
  }

  async countAnnotations(projectId: number, annotatorId: number): Promise<number> {
    const rows = await this.db.transaction(null, (tx) =>
      tx.all('SELECT COUNT(*) AS n FROM annotations WHERE annotator_id = ? AND project_id = ?', [
        annotatorId,
        projectId,
      ]),
    );
    return Number(rows[0].n);
  }

  taskVotes(projectId: number, extIds: readonly string[]): Promise<TaskVotes[]> {
    return this.db.transaction(null, async (tx) => {
      const k = Number((await tx.all('SELECT k FROM projects WHERE id = ?', [projectId]))[0]?.k ?? 0);
      const out = new Map<string, TaskVotes>();
      for (let i = 0; i < extIds.length; i += CHUNK) {
        const ids = extIds.slice(i, i + CHUNK);
        const rows = await tx.all(
          `SELECT t.ext_id, n.verdict, COUNT(n.id) AS c FROM tasks t
           LEFT JOIN annotations n ON n.task_id = t.id AND n.verdict <> 'skip'
           WHERE t.project_id = ? AND t.ext_id IN (${marks(ids.length)}) GROUP BY t.ext_id, n.verdict`,
          [projectId, ...ids],
        );
        for (const r of rows) {
          const id = String(r.ext_id);
          const v = out.get(id) ?? { extId: id, votes: { a: 0, b: 0, tie: 0, 'both-bad': 0 }, k };
          if (r.verdict !== null) v.votes[r.verdict as Verdict] += Number(r.c);
          out.set(id, v);
        }
      }
      return extIds.filter((id) => out.has(id)).map((id) => out.get(id) as TaskVotes);
    });
  }

  tasksWithVerdicts(projectId: number): Promise<{ task: Task; verdicts: Verdict[] }[]> {
    return this.db.transaction(null, async (tx) => {
      const tasks = (await tx.all('SELECT * FROM tasks WHERE project_id = ? ORDER BY id', [projectId])).map(
        toTask,
      );
      const votes = await tx.all(
        `SELECT task_id, verdict FROM annotations WHERE project_id = ? AND verdict <> 'skip' ORDER BY id`,
        [projectId],
      );
      const byTask = new Map<number, Verdict[]>();
      for (const v of votes) {
        const id = Number(v.task_id);
        byTask.set(id, [...(byTask.get(id) ?? []), v.verdict as Verdict]);
      }
      return tasks.map((task) => ({ task, verdicts: byTask.get(task.id) ?? [] }));
    });
  }

  queueCounts(projectId: number, now: number): Promise<QueueCounts> {
    return this.db.transaction(null, async (tx) => {
      const [c] = await tx.all(
        `SELECT COUNT(*) AS tasks,
                SUM(CASE WHEN t.gold IS NOT NULL THEN 1 ELSE 0 END) AS gold,
                SUM(CASE WHEN t.gold IS NULL AND t.n_done >= p.k THEN 1 ELSE 0 END) AS complete
         FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.project_id = ?`,
        [projectId],
      );
      const [l] = await tx.all(
        `SELECT COUNT(*) AS leased FROM leases WHERE project_id = ? AND state = 'open' AND expires_at > ?`,
        [projectId, now],
      );
      const [n] = await tx.all('SELECT COUNT(*) AS n FROM annotations WHERE project_id = ?', [projectId]);
      const tasks = Number(c.tasks);
      const gold = Number(c.gold ?? 0);
      const complete = Number(c.complete ?? 0);
      return {
        tasks,
        gold,
        complete,
        pending: tasks - gold - complete,
        leased: Number(l.leased),
        annotations: Number(n.n),
      };
    });
  }
}

const ANNOTATION_SELECT = `SELECT n.*, t.ext_id, t.gold, u.name AS annotator FROM annotations n
  JOIN tasks t ON t.id = n.task_id JOIN annotators u ON u.id = n.annotator_id`;

function marks(n: number): string {
  return new Array(n).fill('?').join(', ');
}

function replay(prev: Row, s: Submission): SubmitResult {
  const same =
    Number(prev.task_id) === s.taskId &&
    prev.verdict === choiceToVerdict(s.choice, Boolean(prev.shown_swapped));
  return same
    ? { kind: 'replayed', annotationId: Number(prev.id), verdict: prev.verdict as StoredVerdict }
    : { kind: 'key-reused' };
}

function toProject(r: Row): Project {
  return {
    id: Number(r.id),
    name: String(r.name),
    description: String(r.description),
    k: Number(r.k),
    leaseSeconds: Number(r.lease_s),
    createdAt: Number(r.created_at),
  };
}

function toAnnotator(r: Row): Annotator {
  return { id: Number(r.id), name: String(r.name), createdAt: Number(r.created_at) };
}

function toTask(r: Row): Task {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    extId: String(r.ext_id),
    prompt: String(r.prompt),
    a: String(r.a),
    b: String(r.b),
    priority: Number(r.priority),
    gold: r.gold === null || r.gold === undefined ? null : (r.gold as Verdict),
    nDone: Number(r.n_done),
    createdAt: Number(r.created_at),
  };
}

function toAnnotation(r: Row): AnnotationRow {
  return {
    id: Number(r.id),
    taskId: Number(r.task_id),
    extId: String(r.ext_id),
    annotatorId: Number(r.annotator_id),
    annotator: String(r.annotator),
    verdict: r.verdict as StoredVerdict,
    shownSwapped: Boolean(r.shown_swapped),
    rationale: String(r.rationale),
    gold: r.gold === null || r.gold === undefined ? null : (r.gold as Verdict),
    createdAt: Number(r.created_at),
  };
}
