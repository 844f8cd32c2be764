/**
 * Row mappers of the SQL store (both dialects) and the canonical JSON the store keeps in TEXT
 * columns. `pg` returns BIGINT as strings: the mappers convert with `Number()` (ids and times stay
 * below 2⁵³). JSON is written with sorted keys, so equal content is equal text on both stores.
 */
import type { Verdict } from '../iterate/labels.js';
import type {
  AnswerDetail,
  AnnotationRow,
  Annotator,
  AnnotatorCredentials,
  Metadata,
  Project,
  RatingScale,
  StoredVerdict,
  Task,
  TaskKind,
} from './types.js';

export type Row = Record<string, unknown>;

/** JSON with object keys sorted (recursively): one text per value. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}

const json = <T>(v: unknown, dflt: T): T =>
  v === null || v === undefined ? dflt : (JSON.parse(String(v)) as T);

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toProject(r: Row): Project {
  return {
    id: Number(r.id),
    name: String(r.name),
    description: String(r.description),
    k: Number(r.k),
    leaseSeconds: Number(r.lease_s),
    guidelines: String(r.guidelines ?? ''),
    createdAt: Number(r.created_at),
  };
}

export function toAnnotator(r: Row): Annotator {
  return {
    id: Number(r.id),
    name: String(r.name),
    createdAt: Number(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
    expiresAt: numOrNull(r.expires_at),
  };
}

export function toCredentials(r: Row): AnnotatorCredentials {
  return { ...toAnnotator(r), tokenId: String(r.token_id), salt: String(r.salt), hash: String(r.hash) };
}

export function toTask(r: Row): Task {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    extId: String(r.ext_id),
    kind: String(r.kind ?? 'pair') as TaskKind,
    prompt: String(r.prompt),
    a: String(r.a),
    b: String(r.b),
    responses: json<string[] | null>(r.responses, null),
    scale: json<RatingScale | null>(r.scale, null),
    metadata: json<Metadata>(r.metadata, {}),
    priority: Number(r.priority),
    gold: r.gold === null || r.gold === undefined ? null : (r.gold as Verdict),
    nDone: Number(r.n_done),
    createdAt: Number(r.created_at),
  };
}

export function toAnnotation(r: Row): AnnotationRow {
  return {
    id: Number(r.id),
    taskId: Number(r.task_id),
    extId: String(r.ext_id),
    annotatorId: Number(r.annotator_id),
    annotator: String(r.annotator),
    verdict: r.verdict as StoredVerdict,
    answer: json<AnswerDetail>(r.answer, null),
    shownSwapped: Boolean(r.shown_swapped),
    rationale: String(r.rationale),
    gold: r.gold === null || r.gold === undefined ? null : (r.gold as Verdict),
    createdAt: Number(r.created_at),
  };
}
