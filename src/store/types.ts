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
export type StoredVerdict = Verdict | 'skip' | 'ranked' | 'rated';

/** The pair verdicts (what counts towards a pair's majority). */
export const PAIR_VERDICTS: readonly Verdict[] = ['a', 'b', 'tie', 'both-bad'];

/**
 * What a task asks: `pair` (which of a, b is better), `ranking` (order K responses, best first),
 * `rating` (score one response on each dimension of an integer scale).
 */
export type TaskKind = 'pair' | 'ranking' | 'rating';
export const TASK_KINDS: readonly TaskKind[] = ['pair', 'ranking', 'rating'];

/** The scale of a rating task: every dimension gets an integer in [min, max]. */
export interface RatingScale {
  dimensions: string[];
  min: number;
  max: number;
}

/** Metadata shown beside a record: flat scalars only. */
export type MetadataValue = string | number | boolean | null;
export type Metadata = Record<string, MetadataValue>;

/**
 * An annotation's answer beyond the pair verdict: a ranking as the original response indices,
 * best first, or one integer per rating dimension. null for pairs and skips.
 */
export type AnswerDetail = { ranking: number[] } | { ratings: Record<string, number> } | null;

export interface Project {
  id: number;
  name: string;
  description: string;
  /** Annotations wanted per (non-gold) task. */
  k: number;
  leaseSeconds: number;
  /** Markdown shown to annotators above every task. */
  guidelines: string;
  createdAt: number;
}

export interface NewProject {
  name: string;
  description: string;
  k: number;
  leaseSeconds: number;
  guidelines?: string;
}

export interface Annotator {
  id: number;
  name: string;
  createdAt: number;
  /** When the admin revoked the token (null = not revoked). */
  revokedAt: number | null;
  /** When the token stops working (null = never). */
  expiresAt: number | null;
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
  expiresAt?: number | null;
}

/** The token fields of an annotator (a rotation replaces them). */
export type TokenCredentials = Pick<NewAnnotator, 'tokenId' | 'salt' | 'hash'>;

export interface Session {
  /** null = the admin (whose token lives in an env var, not in the store). */
  annotatorId: number | null;
  /**
   * The credential that created the session (`a:<tokenId>` or `admin:<fingerprint>`): the service
   * ends the session when that credential is rotated, revoked or expired.
   */
  credential: string;
  csrf: string;
  expiresAt: number;
}

export interface NewTask {
  extId: string;
  /** Default 'pair'. */
  kind?: TaskKind;
  prompt: string;
  /** The pair's two responses ('' for ranking and rating tasks). */
  a: string;
  b: string;
  /** Ranking: the K responses; rating: the one response. null/absent for pairs. */
  responses?: string[] | null;
  /** Rating tasks only. */
  scale?: RatingScale | null;
  metadata?: Metadata;
  priority: number;
  gold: Verdict | null;
}

export interface Task extends NewTask {
  kind: TaskKind;
  responses: string[] | null;
  scale: RatingScale | null;
  metadata: Metadata;
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
  /** Ranking tasks: the original index of the response shown at each position; else null. */
  order: number[] | null;
  expiresAt: number;
}

export interface Submission {
  projectId: number;
  taskId: number;
  annotatorId: number;
  /** Pairs: the side chosen; every kind: 'skip'. Ignored when `ranking` or `ratings` is given. */
  choice: Choice;
  /** Ranking tasks: positions as shown, best first (a permutation of 0..K-1). */
  ranking?: number[];
  /** Rating tasks: one integer per dimension of the task's scale. */
  ratings?: Record<string, number>;
  rationale: string;
  idempotencyKey: string | null;
  now: number;
}

export type SubmitResult =
  | { kind: 'created' | 'replayed'; annotationId: number; verdict: StoredVerdict }
  | {
      kind: 'unknown-task' | 'no-lease' | 'lease-expired' | 'already-annotated' | 'key-reused';
    }
  | { kind: 'bad-answer'; message: string };

export type UndoResult =
  | { kind: 'undone'; taskId: number; annotationId: number }
  | { kind: 'nothing' | 'lease-expired' };

export interface AnnotationRow {
  /** Monotone id: the cursor of `labelsSince`. */
  id: number;
  taskId: number;
  extId: string;
  annotatorId: number;
  annotator: string;
  verdict: StoredVerdict;
  answer: AnswerDetail;
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
  annotatorById(id: number): Promise<AnnotatorCredentials | undefined>;
  listAnnotators(): Promise<Annotator[]>;
  /** Revokes (revokedAt = now) or sets the expiry; ends the annotator's sessions on revocation. */
  setAnnotatorAccess(
    name: string,
    change: { revokedAt?: number | null; expiresAt?: number | null },
  ): Promise<Annotator | undefined>;
  /** Replaces the token (the old one stops working; its sessions end); clears a revocation. */
  rotateAnnotatorToken(name: string, creds: TokenCredentials): Promise<Annotator | undefined>;

  createSession(idHash: string, s: Session): Promise<void>;
  getSession(idHash: string, now: number): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;

  /** Changes a project's guidelines and/or description. */
  updateProject(
    name: string,
    change: { guidelines?: string; description?: string },
  ): Promise<Project | undefined>;

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
    permute?: (n: number) => number[],
  ): Promise<Lease | undefined>;
  submit(s: Submission): Promise<SubmitResult>;
  /**
   * Withdraws the annotator's last answer in the project while its lease is still running: the
   * annotation is deleted and the lease reopened (the task comes back on the next /next).
   */
  undoLast(projectId: number, annotatorId: number, now: number): Promise<UndoResult>;
  /** Tasks this annotator may still be offered (their open lease included). */
  remainingFor(projectId: number, annotatorId: number, now: number): Promise<number>;

  /** Non-skip annotations with id > cursor, ascending, at most `limit`. */
  labelsSince(projectId: number, cursor: number, limit: number): Promise<AnnotationRow[]>;
  /** Annotations (skips included) of one annotator, or of everyone when annotatorId is null. */
  annotations(projectId: number, annotatorId: number | null): Promise<AnnotationRow[]>;
  /** Annotations (skips included) of one annotator in a project. */
  countAnnotations(projectId: number, annotatorId: number): Promise<number>;
  taskVotes(projectId: number, extIds: readonly string[]): Promise<TaskVotes[]>;
  /** Every task with its annotations (skips included), in push order: export and explorer. */
  tasksWithAnnotations(projectId: number): Promise<TaskWithAnnotations[]>;
  queueCounts(projectId: number, now: number): Promise<QueueCounts>;
}

export interface TaskWithAnnotations {
  task: Task;
  annotations: AnnotationRow[];
}

/** A stored text field the store refuses (the same on SQLite and PostgreSQL). */
export class StoreInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'StoreInputError';
  }
}

/**
 * Why a string cannot be stored identically by both stores, or undefined. PostgreSQL's TEXT cannot
 * hold U+0000, and a lone UTF-16 surrogate has no UTF-8 form (both drivers would rewrite it as
 * U+FFFD, so an identical re-push would no longer match): both are refused everywhere.
 */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000), which the store cannot keep';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate (not valid Unicode text)';
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws StoreInputError when `s` cannot be stored (see textProblem). */
export function checkText(field: string, s: string): void {
  const p = textProblem(s);
  if (p !== undefined) throw new StoreInputError(field, p);
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
