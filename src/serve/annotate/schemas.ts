/**
 * Request schemas of the annotation API (validated before anything is written; also the OpenAPI
 * source). Every stored string is checked by `textProblem` (no NUL, no lone surrogate), so both
 * stores keep exactly what was accepted and a refusal names the field.
 */
import { z } from 'zod';
import { VERDICTS } from '../../feedback/types.js';
import { CHOICES, TASK_KINDS, textProblem } from '../../store/types.js';

/** A string both stores keep byte-identically. */
const safe = (max: number, min = 0) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine((s, ctx) => {
      const p = textProblem(s);
      if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
    });

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');

export const ProjectName = name;
export const AnnotatorName = name;

export const LoginBody = z.strictObject({ token: z.string().min(1).max(512) });

const guidelines = safe(50_000);

export const CreateProjectBody = z.strictObject({
  name,
  description: safe(2000).default(''),
  guidelines: guidelines.default(''),
  k: z.number().int().min(1).max(50).default(3),
  lease_seconds: z.number().int().min(5).max(86_400).default(600),
});

export const UpdateProjectBody = z
  .strictObject({ description: safe(2000).optional(), guidelines: guidelines.optional() })
  .refine((b) => b.description !== undefined || b.guidelines !== undefined, 'give description or guidelines');

const expiresAt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable();

export const CreateAnnotatorBody = z.strictObject({
  name,
  /** Milliseconds since the epoch after which the token stops working. */
  expires_at: expiresAt.default(null),
});

export const AnnotatorAccessBody = z.strictObject({ expires_at: expiresAt });

const text = safe(100_000);
const dimension = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a letter, then letters, digits, "_" or "-"');

export const RatingScaleInput = z
  .strictObject({
    dimensions: z.array(dimension).min(1).max(8).default(['quality']),
    min: z.number().int().min(-100).max(100).default(1),
    max: z.number().int().min(-100).max(100).default(5),
  })
  .refine((s) => s.max > s.min && s.max - s.min <= 20, 'max must exceed min by 1..20')
  .refine((s) => new Set(s.dimensions).size === s.dimensions.length, 'dimensions must be distinct');

const metadataValue = z.union([safe(2000), z.number().finite(), z.boolean(), z.null()]);

export const TaskInput = z
  .strictObject({
    id: safe(200, 1),
    kind: z.enum(TASK_KINDS as [string, ...string[]]).default('pair'),
    prompt: text,
    a: text.optional(),
    b: text.optional(),
    responses: z.array(text).min(1).max(10).optional(),
    scale: RatingScaleInput.optional(),
    metadata: z.record(safe(64, 1), metadataValue).default({}),
    priority: z.number().finite().default(0),
    gold: z
      .enum(VERDICTS as [string, ...string[]])
      .nullable()
      .default(null),
  })
  .superRefine((t, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (Object.keys(t.metadata).length > 20) bad('metadata', 'at most 20 keys');
    if (t.kind === 'pair') {
      if (t.a === undefined) bad('a', 'a pair task needs a and b');
      if (t.b === undefined) bad('b', 'a pair task needs a and b');
      if (t.responses !== undefined) bad('responses', 'a pair task takes a and b, not responses');
      if (t.scale !== undefined) bad('scale', 'only rating tasks take a scale');
      return;
    }
    if (t.a !== undefined || t.b !== undefined) bad('a', `a ${t.kind} task takes responses, not a/b`);
    if (t.gold !== null) bad('gold', 'gold answers are for pair tasks');
    const n = t.responses?.length ?? 0;
    if (t.kind === 'ranking' && (n < 2 || n > 10)) bad('responses', 'a ranking task needs 2..10 responses');
    if (t.kind === 'ranking' && t.scale !== undefined) bad('scale', 'only rating tasks take a scale');
    if (t.kind === 'rating' && n !== 1) bad('responses', 'a rating task needs exactly one response');
  });

export type TaskInputValue = z.infer<typeof TaskInput>;

export const PushTasksBody = z.strictObject({ tasks: z.array(TaskInput).min(1).max(10_000) });

export const SubmitBody = z
  .strictObject({
    choice: z.enum(CHOICES as [string, ...string[]]).optional(),
    ranking: z.array(z.number().int().min(0).max(9)).min(2).max(10).optional(),
    ratings: z.record(dimension, z.number().int()).optional(),
    rationale: safe(5000).default(''),
    idempotency_key: safe(128, 8).nullable().default(null),
  })
  .refine(
    (b) => [b.choice, b.ranking, b.ratings].filter((x) => x !== undefined).length === 1,
    'give exactly one of choice, ranking or ratings',
  );

export const VotesBody = z.strictObject({ ids: z.array(z.string().min(1).max(200)).min(1).max(10_000) });

export const LabelsQuery = z.strictObject({
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const AnnotationsQuery = z.strictObject({ annotator: name.optional() });

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

export const ExportQuery = z.strictObject({
  kind: z.enum(TASK_KINDS as [string, ...string[]]).default('pair'),
  /** Include tasks that have not reached k annotations yet. */
  all: flag.default(false),
});

export const ExploreQuery = z.strictObject({
  status: z.enum(['any', 'pending', 'complete']).default('any'),
  gold: z.enum(['any', 'only', 'none']).default('any'),
  annotator: name.optional(),
  agreement: z.enum(['any', 'unanimous', 'split', 'unlabelled']).default('any'),
  kind: z.enum(['any', ...TASK_KINDS] as [string, ...string[]]).default('any'),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const UploadQuery = z.strictObject({ format: z.enum(['jsonl', 'csv', 'parquet']) });

export const TaskIdParam = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
