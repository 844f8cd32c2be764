/** Request schemas of the annotation API (validated before anything is written; also the OpenAPI source). */
import { z } from 'zod';
import { VERDICTS } from '../../feedback/types.js';
import { CHOICES } from '../../store/types.js';

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');

export const ProjectName = name;

export const LoginBody = z.strictObject({ token: z.string().min(1).max(512) });

export const CreateProjectBody = z.strictObject({
  name,
  description: z.string().max(2000).default(''),
  k: z.number().int().min(1).max(50).default(3),
  lease_seconds: z.number().int().min(5).max(86_400).default(600),
});

export const CreateAnnotatorBody = z.strictObject({ name });

const text = z.string().max(100_000);

export const TaskInput = z.strictObject({
  id: z.string().min(1).max(200),
  prompt: text,
  a: text,
  b: text,
  priority: z.number().finite().default(0),
  gold: z
    .enum(VERDICTS as [string, ...string[]])
    .nullable()
    .default(null),
});

export const PushTasksBody = z.strictObject({ tasks: z.array(TaskInput).min(1).max(10_000) });

export const SubmitBody = z.strictObject({
  choice: z.enum(CHOICES as [string, ...string[]]),
  rationale: z.string().max(5000).default(''),
  idempotency_key: z.string().min(8).max(128).nullable().default(null),
});

export const VotesBody = z.strictObject({ ids: z.array(z.string().min(1).max(200)).min(1).max(10_000) });

export const LabelsQuery = z.strictObject({
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const AnnotationsQuery = z.strictObject({ annotator: name.optional() });

export const TaskIdParam = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
