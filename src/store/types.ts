/**
 * The annotation store: one interface, two implementations (SQLite by default, PostgreSQL for teams).
 * The service (src/serve/annotate) validates every input before calling a store; a store enforces the
 * queue's invariants inside one transaction per call, so concurrent requests and crashes cannot lose
 * or double-count a submission:
 *   - a task is unique per (project, ext_id); pushing the same task again is a no-op;
 *   - an annotation is unique per (task, annotator) and per (annotator, idempotency key);
 *   - a lease row per (task, annotator) records that the task was shown to that person (with the side
 *     order shown); an annotator is never offered a task they already hold or held a lease on;
 *   - a task is offered while its non-skip annotations plus open, unexpired leases are below k
 *     (gold tasks are offered to every annotator once).
 */
import type { Verdict } from '../iterate/labels.js';

export type Role = 'admin' | 'annotator';

/** What an annotator chose, in the order shown: left/right are sides of the page. */
export type Choice = 'left' | 'right' | 'tie' | 'both-bad' | 'skip';
export const CHOICES: readonly Choice[] = ['left', 'right', 'tie', 'both-bad', 'skip'];

/** Stored verdicts: the query's own a/b order, or 'skip' (not counted towards k). */
export type StoredVerdict = Verdict | 'skip';

export interface Project {
  id: number;
  name: string;
  description: string;
  /** Annotations wanted per (non-gold) task. */
  k: number;
  leaseSeconds: number;
  createdAt: number;
}

export interface NewProject {
  name: string;
  description: string;
  k: number;
  leaseSeconds: number;
}

export interface Annotator {
  id: number;
  name: string;
  createdAt: number;
}

/** An annotator with the stored (salted, scrypt) hash of their token. */
export interface AnnotatorCredentials extends Annotator {
  tokenId: string;
  salt: string;
  hash: string;
}

export interface NewAnnotator {
  name: string;
  tokenId: string;
  salt: string;
  hash: string;
}

export interface Session {
  /** null = the admin (whose token lives in an env var, not in the store). */
  annotatorId: number | null;
  csrf: string;
  expiresAt: number;
}

export interface NewTask {
  extId: string;
  prompt: string;
  a: string;
  b: string;
  priority: number;
  gold: Verdict | null;
}

export interface Task extends NewTask {
  id: number;
  projectId: number;
  /** Non-skip annotations so far. */
  nDone: number;
  createdAt: number;
}

export interface PushResult {
  inserted: number;
  /** Already present with the same content (a resumed push). */
  existing: number;
}

/** A task leased to an annotator, with the side order they see. */
export interface Lease {
  task: Task;
  swapped: boolean;
  expiresAt: number;
}

export interface Submission {
  projectId: number;
  taskId: number;
  annotatorId: number;
  choice: Choice;
  rationale: string;
  idempotencyKey: string | null;
  now: number;
}

export type SubmitResult =
  | { kind: 'created' | 'replayed'; annotationId: number; verdict: StoredVerdict }
  | {
      kind: 'unknown-task' | 'no-lease' | 'lease-expired' | 'already-annotated' | 'key-reused';
    };

export interface AnnotationRow {
  /** Monotone id: the cursor of `labelsSince`. */
  id: number;
  taskId: number;
  extId: string;
  annotatorId: number;
  annotator: string;
  verdict: StoredVerdict;
  shownSwapped: boolean;
  rationale: string;
  gold: Verdict | null;
  createdAt: number;
}

export interface QueueCounts {
  tasks: number;
  gold: number;
  /** Non-gold tasks with k non-skip annotations. */
  complete: number;
  /** Non-gold tasks still wanting annotations. */
  pending: number;
  /** Open, unexpired leases. */
  leased: number;
  annotations: number;
}

/** Votes per pushed task (for the loop's human source). */
export interface TaskVotes {
  extId: string;
  votes: Record<Verdict, number>;
  k: number;
}

export interface AnnotationStore {
  readonly kind: 'sqlite' | 'postgres';
  close(): Promise<void>;

  createProject(p: NewProject, now: number): Promise<Project | 'exists'>;
  getProject(name: string): Promise<Project | undefined>;
  listProjects(): Promise<Project[]>;

  createAnnotator(a: NewAnnotator, now: number): Promise<Annotator | 'exists'>;
  annotatorByTokenId(tokenId: string): Promise<AnnotatorCredentials | undefined>;
  annotatorById(id: number): Promise<Annotator | undefined>;
  listAnnotators(): Promise<Annotator[]>;

  createSession(idHash: string, s: Session): Promise<void>;
  getSession(idHash: string, now: number): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;

  /** All or nothing: 'conflict' (nothing written) when an ext_id exists with different content. */
  pushTasks(
    projectId: number,
    tasks: readonly NewTask[],
    now: number,
  ): Promise<PushResult | { conflict: string }>;
  /** The annotator's open lease if any, else a new one on the highest-priority eligible task. */
  nextTask(
    projectId: number,
    annotatorId: number,
    now: number,
    leaseMs: number,
    swap: boolean,
  ): Promise<Lease | undefined>;
  submit(s: Submission): Promise<SubmitResult>;

  /** Non-skip annotations with id > cursor, ascending, at most `limit`. */
  labelsSince(projectId: number, cursor: number, limit: number): Promise<AnnotationRow[]>;
  /** Annotations (skips included) of one annotator, or of everyone when annotatorId is null. */
  annotations(projectId: number, annotatorId: number | null): Promise<AnnotationRow[]>;
  /** Annotations (skips included) of one annotator in a project. */
  countAnnotations(projectId: number, annotatorId: number): Promise<number>;
  taskVotes(projectId: number, extIds: readonly string[]): Promise<TaskVotes[]>;
  /** Tasks with their non-skip verdicts (for export). */
  tasksWithVerdicts(projectId: number): Promise<{ task: Task; verdicts: Verdict[] }[]>;
  queueCounts(projectId: number, now: number): Promise<QueueCounts>;
}

/** Maps a choice made on the page back to the query's a/b order. */
export function choiceToVerdict(choice: Choice, swapped: boolean): StoredVerdict {
  if (choice === 'left') return swapped ? 'b' : 'a';
  if (choice === 'right') return swapped ? 'a' : 'b';
  return choice;
}

/** Parses `--db`: `sqlite:path` (or a bare path) or `postgres://…` / `postgresql://…`. */
export function parseDbUrl(db: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (/^postgres(ql)?:\/\//.test(db)) return { kind: 'postgres', url: db };
  const path = db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db;
  if (path.length === 0) throw new Error(`--db ${JSON.stringify(db)}: empty SQLite path`);
  return { kind: 'sqlite', path };
}
