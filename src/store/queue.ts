/**
 * The parts of the queue logic that need no SQL: a task's stored row (every text field checked,
 * JSON in canonical form), whether a re-pushed task differs from the stored one, and how an answer
 * given in the page's order maps back to the task's own order.
 */
import { canonicalJson, type Row } from './rows.js';
import {
  checkText,
  choiceToVerdict,
  type NewTask,
  type StoredVerdict,
  type Submission,
  type Task,
} from './types.js';

export interface TaskRow {
  ext_id: string;
  kind: string;
  prompt: string;
  a: string;
  b: string;
  responses: string | null;
  scale: string | null;
  metadata: string;
  priority: number;
  gold: string | null;
}

/** The row stored for a pushed task; throws StoreInputError on text the stores cannot keep. */
export function taskRow(t: NewTask, i: number): TaskRow {
  const at = `tasks.${i}`;
  checkText(`${at}.id`, t.extId);
  checkText(`${at}.prompt`, t.prompt);
  checkText(`${at}.a`, t.a);
  checkText(`${at}.b`, t.b);
  for (const [j, r] of (t.responses ?? []).entries()) checkText(`${at}.responses.${j}`, r);
  for (const [k, v] of Object.entries(t.metadata ?? {})) {
    checkText(`${at}.metadata`, k);
    if (typeof v === 'string') checkText(`${at}.metadata.${k}`, v);
  }
  for (const d of t.scale?.dimensions ?? []) checkText(`${at}.scale.dimensions`, d);
  return {
    ext_id: t.extId,
    kind: t.kind ?? 'pair',
    prompt: t.prompt,
    a: t.a,
    b: t.b,
    responses: t.responses ? JSON.stringify(t.responses) : null,
    scale: t.scale ? canonicalJson(t.scale) : null,
    metadata: canonicalJson(t.metadata ?? {}),
    priority: t.priority,
    gold: t.gold,
  };
}

/** A re-push must carry the same content (priority may change: it is not content). */
export function pushRowsDiffer(stored: Row, t: TaskRow): boolean {
  const keys = ['kind', 'prompt', 'a', 'b', 'responses', 'scale', 'metadata', 'gold'] as const;
  return keys.some((k) => (stored[k] ?? null) !== (t[k] ?? null));
}

export type ResolvedAnswer =
  | { verdict: StoredVerdict; answer: string | null; swapped: boolean }
  | { message: string };

/** Maps a submission (in the order shown by `lease`) to what is stored, or says why it does not fit the task. */
export function answerOf(task: Task, lease: Row | undefined, s: Submission): ResolvedAnswer {
  const swapped = Boolean(lease?.swapped);
  const given = [s.ranking !== undefined, s.ratings !== undefined].filter(Boolean).length;
  if (given > 1) return { message: 'give one of choice, ranking or ratings' };
  if (s.ranking === undefined && s.ratings === undefined) {
    if (s.choice === 'skip') return { verdict: 'skip', answer: null, swapped };
    if (task.kind !== 'pair')
      return {
        message: `a ${task.kind} task takes ${task.kind === 'ranking' ? 'ranking' : 'ratings'} (or choice "skip")`,
      };
    return { verdict: choiceToVerdict(s.choice, swapped), answer: null, swapped };
  }
  if (s.ranking !== undefined) return rankingAnswer(task, lease, s.ranking);
  return ratingAnswer(task, s.ratings as Record<string, number>);
}

function rankingAnswer(task: Task, lease: Row | undefined, ranking: readonly number[]): ResolvedAnswer {
  if (task.kind !== 'ranking') return { message: `ranking: task ${task.extId} is a ${task.kind} task` };
  const n = task.responses?.length ?? 0;
  const sorted = [...ranking].sort((x, y) => x - y);
  if (ranking.length !== n || sorted.some((v, i) => v !== i))
    return { message: `ranking: expected a permutation of the ${n} positions 0..${n - 1}, best first` };
  const order =
    lease?.shown_order === null || lease?.shown_order === undefined
      ? sorted
      : (JSON.parse(String(lease.shown_order)) as number[]);
  return {
    verdict: 'ranked',
    answer: JSON.stringify({ ranking: ranking.map((pos) => order[pos]) }),
    swapped: false,
  };
}

function ratingAnswer(task: Task, ratings: Record<string, number>): ResolvedAnswer {
  if (task.kind !== 'rating' || task.scale === null)
    return { message: `ratings: task ${task.extId} is a ${task.kind} task` };
  const { dimensions, min, max } = task.scale;
  const keys = Object.keys(ratings);
  const missing = dimensions.filter((d) => !(d in ratings));
  const unknown = keys.filter((k) => !dimensions.includes(k));
  if (missing.length > 0 || unknown.length > 0)
    return {
      message: `ratings: expected one integer for each of ${dimensions.join(', ')}${
        unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''
      }`,
    };
  for (const d of dimensions) {
    const v = ratings[d];
    if (!Number.isInteger(v) || v < min || v > max)
      return { message: `ratings.${d}: ${v} is not an integer in [${min}, ${max}]` };
  }
  return { verdict: 'rated', answer: canonicalJson({ ratings }), swapped: false };
}
