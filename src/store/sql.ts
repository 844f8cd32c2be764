/**
 * The annotation store, written once over a tiny SQL driver that both SQLite and PostgreSQL
 * implement (`?` placeholders, RETURNING, ON CONFLICT: the common subset of both dialects).
 * Every public method is one transaction; PostgreSQL transactions that touch a project's queue take
 * an advisory lock on the project, so leases are not over-issued and annotation ids (the label-feed
 * cursor) are assigned in commit order. SQLite transactions are serialised by the driver. Text the
 * two stores would not keep identically (NUL, lone surrogates) is refused here too (StoreInputError),
 * so a caller that skips the service's validation still sees one behaviour.
 */
import { toAnnotation, toAnnotator, toCredentials, toProject, toTask, type Row } from './rows.js';
import { answerOf, pushRowsDiffer, taskRow } from './queue.js';
import {
  checkText,
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
  type Submission,
  type SubmitResult,
  type TaskVotes,
  type TaskWithAnnotations,
  type TokenCredentials,
  type UndoResult,
} from './types.js';

export type { Row } from './rows.js';
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
const PAIR_VERDICT_SQL = `('a', 'b', 'tie', 'both-bad')`;

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

  private read(sql: string, params: readonly Param[] = []): Promise<Row[]> {
    return this.db.transaction(null, (tx) => tx.all(sql, params));
  }

  // ---- projects ----

  async createProject(p: NewProject, now: number): Promise<Project | 'exists'> {
    checkText('description', p.description);
    checkText('guidelines', p.guidelines ?? '');
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `INSERT INTO projects (name, description, k, lease_s, guidelines, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING RETURNING *`,
        [p.name, p.description, p.k, p.leaseSeconds, p.guidelines ?? '', now],
      );
      return rows.length === 0 ? 'exists' : toProject(rows[0]);
    });
  }

  async getProject(name: string): Promise<Project | undefined> {
    const rows = await this.read('SELECT * FROM projects WHERE name = ?', [name]);
    return rows.length === 0 ? undefined : toProject(rows[0]);
  }

  async listProjects(): Promise<Project[]> {
    return (await this.read('SELECT * FROM projects ORDER BY id')).map(toProject);
  }

  async updateProject(
    name: string,
    change: { guidelines?: string; description?: string },
  ): Promise<Project | undefined> {
    if (change.guidelines !== undefined) checkText('guidelines', change.guidelines);
    if (change.description !== undefined) checkText('description', change.description);
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `UPDATE projects SET guidelines = COALESCE(?, guidelines), description = COALESCE(?, description)
         WHERE name = ? RETURNING *`,
        [change.guidelines ?? null, change.description ?? null, name],
      );
      return rows.length === 0 ? undefined : toProject(rows[0]);
    });
  }

  // ---- annotators and their credentials ----

  createAnnotator(a: NewAnnotator, now: number): Promise<Annotator | 'exists'> {
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `INSERT INTO annotators (name, token_id, salt, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING *`,
        [a.name, a.tokenId, a.salt, a.hash, now, a.expiresAt ?? null],
      );
      return rows.length === 0 ? 'exists' : toAnnotator(rows[0]);
    });
  }

  async annotatorByTokenId(tokenId: string): Promise<AnnotatorCredentials | undefined> {
    const rows = await this.read('SELECT * FROM annotators WHERE token_id = ?', [tokenId]);
    return rows.length === 0 ? undefined : toCredentials(rows[0]);
  }

  async annotatorById(id: number): Promise<AnnotatorCredentials | undefined> {
    const rows = await this.read('SELECT * FROM annotators WHERE id = ?', [id]);
    return rows.length === 0 ? undefined : toCredentials(rows[0]);
  }

  async listAnnotators(): Promise<Annotator[]> {
    return (await this.read('SELECT * FROM annotators ORDER BY id')).map(toAnnotator);
  }

  setAnnotatorAccess(
    name: string,
    change: { revokedAt?: number | null; expiresAt?: number | null },
  ): Promise<Annotator | undefined> {
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `UPDATE annotators SET revoked_at = CASE WHEN ? = 1 THEN ? ELSE revoked_at END,
           expires_at = CASE WHEN ? = 1 THEN ? ELSE expires_at END WHERE name = ? RETURNING *`,
        [
          change.revokedAt === undefined ? 0 : 1,
          change.revokedAt ?? null,
          change.expiresAt === undefined ? 0 : 1,
          change.expiresAt ?? null,
          name,
        ],
      );
      if (rows.length === 0) return undefined;
      const a = toAnnotator(rows[0]);
      if (a.revokedAt !== null) await tx.run('DELETE FROM sessions WHERE annotator_id = ?', [a.id]);
      return a;
    });
  }

  rotateAnnotatorToken(name: string, creds: TokenCredentials): Promise<Annotator | undefined> {
    return this.db.transaction(null, async (tx) => {
      const rows = await tx.all(
        `UPDATE annotators SET token_id = ?, salt = ?, hash = ?, revoked_at = NULL WHERE name = ? RETURNING *`,
        [creds.tokenId, creds.salt, creds.hash, name],
      );
      if (rows.length === 0) return undefined;
      const a = toAnnotator(rows[0]);
      await tx.run('DELETE FROM sessions WHERE annotator_id = ?', [a.id]);
      return a;
    });
  }

  // ---- sessions ----

  async createSession(idHash: string, s: Session): Promise<void> {
    await this.db.transaction(null, async (tx) => {
      await tx.run('DELETE FROM sessions WHERE expires_at <= ?', [Date.now()]);
      await tx.run(
        'INSERT INTO sessions (id_hash, annotator_id, credential, csrf, expires_at) VALUES (?, ?, ?, ?, ?)',
        [idHash, s.annotatorId, s.credential, s.csrf, s.expiresAt],
      );
    });
  }

  async getSession(idHash: string, now: number): Promise<Session | undefined> {
    const rows = await this.read('SELECT * FROM sessions WHERE id_hash = ? AND expires_at > ?', [
      idHash,
      now,
    ]);
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return {
      annotatorId: r.annotator_id === null ? null : Number(r.annotator_id),
      credential: String(r.credential ?? ''),
      csrf: String(r.csrf),
      expiresAt: Number(r.expires_at),
    };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.transaction(null, (tx) => tx.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]));
  }

  // ---- the queue ----

  async pushTasks(
    projectId: number,
    tasks: readonly NewTask[],
    now: number,
  ): Promise<PushResult | { conflict: string }> {
    const rows = tasks.map((t, i) => taskRow(t, i));
    return this.db.transaction(projectId, async (tx) => {
      // Phase 1: compare with what is already there (a resumed push must carry the same content).
      const known = new Map<string, Row>();
      for (let i = 0; i < rows.length; i += CHUNK) {
        const ids = rows.slice(i, i + CHUNK).map((t) => t.ext_id);
        const got = await tx.all(
          `SELECT ext_id, kind, prompt, a, b, responses, scale, metadata, gold FROM tasks
           WHERE project_id = ? AND ext_id IN (${marks(ids.length)})`,
          [projectId, ...ids],
        );
        for (const r of got) known.set(String(r.ext_id), r);
      }
      const fresh: typeof rows = [];
      for (const t of rows) {
        const r = known.get(t.ext_id);
        if (r === undefined) {
          known.set(t.ext_id, { ...t });
          fresh.push(t);
        } else if (pushRowsDiffer(r, t)) return { conflict: t.ext_id };
      }
      // Phase 2: insert the new ones.
      for (const t of fresh) {
        await tx.run(
          `INSERT INTO tasks (project_id, ext_id, kind, prompt, a, b, responses, scale, metadata, priority, gold, n_done, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
          [
            projectId,
            t.ext_id,
            t.kind,
            t.prompt,
            t.a,
            t.b,
            t.responses,
            t.scale,
            t.metadata,
            t.priority,
            t.gold,
            now,
          ],
        );
      }
      return { inserted: fresh.length, existing: rows.length - fresh.length };
    });
  }

  nextTask(
    projectId: number,
    annotatorId: number,
    now: number,
    leaseMs: number,
    swap: boolean,
    permute: (n: number) => number[] = (n) => Array.from({ length: n }, (_, i) => i),
  ): Promise<Lease | undefined> {
    return this.db.transaction(projectId, async (tx) => {
      // Phase 1: an open lease is returned again (a reload does not burn a task).
      const open = await tx.all(
        `SELECT t.*, l.swapped AS l_swapped, l.shown_order AS l_order, l.expires_at AS l_expires
         FROM leases l JOIN tasks t ON t.id = l.task_id
         WHERE l.annotator_id = ? AND l.project_id = ? AND l.state = 'open' AND l.expires_at > ?
         ORDER BY l.reopened DESC, l.expires_at, l.task_id LIMIT 1`,
        [annotatorId, projectId, now],
      );
      if (open.length > 0) {
        const r = open[0];
        const order =
          r.l_order === null || r.l_order === undefined ? null : (JSON.parse(String(r.l_order)) as number[]);
        return { task: toTask(r), swapped: Boolean(r.l_swapped), order, expiresAt: Number(r.l_expires) };
      }
      // Phase 2: the highest-priority task this person has never been shown that still needs votes.
      const rows = await tx.all(
        `SELECT t.* FROM tasks t JOIN projects p ON p.id = t.project_id
         WHERE t.project_id = ? AND ${ELIGIBLE} ORDER BY t.priority DESC, t.id ASC LIMIT 1`,
        [projectId, annotatorId, now],
      );
      if (rows.length === 0) return undefined;
      const task = toTask(rows[0]);
      const expiresAt = now + leaseMs;
      const order = task.kind === 'ranking' ? permute(task.responses?.length ?? 0) : null;
      const swapped = task.kind === 'pair' && swap;
      await tx.run(
        `INSERT INTO leases (task_id, annotator_id, project_id, swapped, shown_order, state, expires_at)
         VALUES (?, ?, ?, ?, ?, 'open', ?)`,
        [
          task.id,
          annotatorId,
          projectId,
          swapped ? 1 : 0,
          order === null ? null : JSON.stringify(order),
          expiresAt,
        ],
      );
      return { task, swapped, order, expiresAt };
    });
  }

  async submit(s: Submission): Promise<SubmitResult> {
    checkText('rationale', s.rationale);
    if (s.idempotencyKey !== null) checkText('idempotency_key', s.idempotencyKey);
    return this.db.transaction(s.projectId, async (tx) => {
      // Phase 1: the task must belong to the project.
      const t = await tx.all('SELECT * FROM tasks WHERE id = ? AND project_id = ?', [s.taskId, s.projectId]);
      if (t.length === 0) return { kind: 'unknown-task' };
      const task = toTask(t[0]);
      const lease = await tx.all('SELECT * FROM leases WHERE task_id = ? AND annotator_id = ?', [
        s.taskId,
        s.annotatorId,
      ]);
      // Phase 2: replays (same key, or same task and same answer) return the first answer.
      const replayOf = (prev: Row): SubmitResult => {
        if (Number(prev.task_id) !== s.taskId) return { kind: 'key-reused' };
        const a = answerOf(task, lease[0], s);
        const same = !('message' in a) && prev.verdict === a.verdict && (prev.answer ?? null) === a.answer;
        return same
          ? { kind: 'replayed', annotationId: Number(prev.id), verdict: a.verdict }
          : { kind: 'key-reused' };
      };
      if (s.idempotencyKey !== null) {
        const prev = await tx.all('SELECT * FROM annotations WHERE annotator_id = ? AND idem_key = ?', [
          s.annotatorId,
          s.idempotencyKey,
        ]);
        if (prev.length > 0) return replayOf(prev[0]);
      }
      const prev = await tx.all('SELECT * FROM annotations WHERE task_id = ? AND annotator_id = ?', [
        s.taskId,
        s.annotatorId,
      ]);
      if (prev.length > 0) {
        const r = replayOf(prev[0]);
        return r.kind === 'replayed' ? r : { kind: 'already-annotated' };
      }
      // Phase 3: a live lease is required; the answer is mapped back to the task's own order.
      if (lease.length === 0 || lease[0].state !== 'open') return { kind: 'no-lease' };
      if (Number(lease[0].expires_at) <= s.now) return { kind: 'lease-expired' };
      const a = answerOf(task, lease[0], s);
      if ('message' in a) return { kind: 'bad-answer', message: a.message };
      const ins = await tx.all(
        `INSERT INTO annotations (task_id, project_id, annotator_id, verdict, answer, shown_swapped, rationale, idem_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          s.taskId,
          s.projectId,
          s.annotatorId,
          a.verdict,
          a.answer,
          a.swapped ? 1 : 0,
          s.rationale,
          s.idempotencyKey,
          s.now,
        ],
      );
      await tx.run(`UPDATE leases SET state = 'done', reopened = 0 WHERE task_id = ? AND annotator_id = ?`, [
        s.taskId,
        s.annotatorId,
      ]);
      if (a.verdict !== 'skip') await tx.run('UPDATE tasks SET n_done = n_done + 1 WHERE id = ?', [s.taskId]);
      return { kind: 'created', annotationId: Number(ins[0].id), verdict: a.verdict };
    });
  }

  undoLast(projectId: number, annotatorId: number, now: number): Promise<UndoResult> {
    return this.db.transaction(projectId, async (tx) => {
      const last = await tx.all(
        `SELECT n.id, n.task_id, n.verdict, l.expires_at FROM annotations n
         JOIN leases l ON l.task_id = n.task_id AND l.annotator_id = n.annotator_id
         WHERE n.project_id = ? AND n.annotator_id = ? ORDER BY n.id DESC LIMIT 1`,
        [projectId, annotatorId],
      );
      if (last.length === 0) return { kind: 'nothing' };
      const r = last[0];
      if (Number(r.expires_at) <= now) return { kind: 'lease-expired' };
      const taskId = Number(r.task_id);
      await tx.run('DELETE FROM annotations WHERE id = ?', [Number(r.id)]);
      await tx.run(`UPDATE leases SET state = 'open', reopened = 1 WHERE task_id = ? AND annotator_id = ?`, [
        taskId,
        annotatorId,
      ]);
      if (r.verdict !== 'skip') await tx.run('UPDATE tasks SET n_done = n_done - 1 WHERE id = ?', [taskId]);
      return { kind: 'undone', taskId, annotationId: Number(r.id) };
    });
  }

  async remainingFor(projectId: number, annotatorId: number, now: number): Promise<number> {
    const [fresh] = await this.read(
      `SELECT COUNT(*) AS n FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.project_id = ? AND ${ELIGIBLE}`,
      [projectId, annotatorId, now],
    );
    const [mine] = await this.read(
      `SELECT COUNT(*) AS n FROM leases WHERE project_id = ? AND annotator_id = ? AND state = 'open' AND expires_at > ?`,
      [projectId, annotatorId, now],
    );
    return Number(fresh.n) + Number(mine.n);
  }

  // ---- reading results ----

  async labelsSince(projectId: number, cursor: number, limit: number): Promise<AnnotationRow[]> {
    const rows = await this.read(
      `${ANNOTATION_SELECT} WHERE n.project_id = ? AND n.id > ? AND n.verdict <> 'skip' ORDER BY n.id LIMIT ?`,
      [projectId, cursor, limit],
    );
    return rows.map(toAnnotation);
  }

  async annotations(projectId: number, annotatorId: number | null): Promise<AnnotationRow[]> {
    const rows =
      annotatorId === null
        ? await this.read(`${ANNOTATION_SELECT} WHERE n.project_id = ? ORDER BY n.id`, [projectId])
        : await this.read(
            `${ANNOTATION_SELECT} WHERE n.project_id = ? AND n.annotator_id = ? ORDER BY n.id`,
            [projectId, annotatorId],
          );
    return rows.map(toAnnotation);
  }

  async countAnnotations(projectId: number, annotatorId: number): Promise<number> {
    const rows = await this.read(
      'SELECT COUNT(*) AS n FROM annotations WHERE annotator_id = ? AND project_id = ?',
      [annotatorId, projectId],
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
           LEFT JOIN annotations n ON n.task_id = t.id AND n.verdict IN ${PAIR_VERDICT_SQL}
           WHERE t.project_id = ? AND t.ext_id IN (${marks(ids.length)}) GROUP BY t.ext_id, n.verdict`,
          [projectId, ...ids],
        );
        for (const r of rows) {
          const id = String(r.ext_id);
          const v = out.get(id) ?? { extId: id, votes: { a: 0, b: 0, tie: 0, 'both-bad': 0 }, k };
          if (r.verdict !== null) v.votes[r.verdict as keyof TaskVotes['votes']] += Number(r.c);
          out.set(id, v);
        }
      }
      return extIds.filter((id) => out.has(id)).map((id) => out.get(id) as TaskVotes);
    });
  }

  tasksWithAnnotations(projectId: number): Promise<TaskWithAnnotations[]> {
    return this.db.transaction(null, async (tx) => {
      const tasks = (await tx.all('SELECT * FROM tasks WHERE project_id = ? ORDER BY id', [projectId])).map(
        toTask,
      );
      const rows = (
        await tx.all(`${ANNOTATION_SELECT} WHERE n.project_id = ? ORDER BY n.id`, [projectId])
      ).map(toAnnotation);
      const byTask = new Map<number, AnnotationRow[]>();
      for (const r of rows) byTask.set(r.taskId, [...(byTask.get(r.taskId) ?? []), r]);
      return tasks.map((task) => ({ task, annotations: byTask.get(task.id) ?? [] }));
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

/** Tasks an annotator may be offered (params: annotator id, now; `t` tasks joined with `p` projects). */
const ELIGIBLE = `NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.annotator_id = ?)
  AND (t.gold IS NOT NULL OR t.n_done + (SELECT COUNT(*) FROM leases l2 WHERE l2.task_id = t.id
       AND l2.state = 'open' AND l2.expires_at > ?) < p.k)`;

const ANNOTATION_SELECT = `SELECT n.*, t.ext_id, t.gold, u.name AS annotator FROM annotations n
  JOIN tasks t ON t.id = n.task_id JOIN annotators u ON u.id = n.annotator_id`;

function marks(n: number): string {
  return new Array(n).fill('?').join(', ');
}
