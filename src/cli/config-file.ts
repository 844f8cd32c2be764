/**
 * Loads a JSON or YAML config and validates it with a zod schema. Errors name the file, the line,
 * the field path and the offending value, e.g.
 *   examples/x.yaml:7: field "sweep.seeds": expected number, received string (value: "three")
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { GshfInputError, didYouMean } from '../math/errors.js';

/** A config file that does not parse or validate; the message holds one line per problem. */
export class ConfigError extends GshfInputError {}

export function loadConfigFile<S extends z.ZodType>(path: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read config file (${(e as Error).message})`);
  }
  return parseConfigText(text, path, schema);
}

export function parseConfigText<S extends z.ZodType>(text: string, source: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  // YAML 1.2 is a superset of JSON, so one parser gives line numbers for both formats.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = lineCounter.linePos(err.pos[0]);
    const message =
      err.code === 'DUPLICATE_KEY'
        ? `duplicate key ${/^("(?:[^"\\]|\\.)*"|'[^']*'|[^:\s]+)/.exec(text.slice(err.pos[0]))?.[1] ?? ''} (each key may appear only once in an object)`
        : err.message.split('\n')[0];
    throw new ConfigError(`${source}:${pos.line}:${pos.col}: ${message}`);
  }
  // An empty file (or one with only comments) is a mistake, not "take every default": a default run
  // of some commands takes minutes. `{}` says "all defaults" explicitly.
  if (doc.contents === null)
    throw new ConfigError(`${source}: the config file is empty (write "{}" to take every default)`);
  const data: unknown = doc.toJS();
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = flattenIssues(result.error.issues, [], schema, data)
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path;
      const node = path.length ? doc.getIn(path, true) : doc.contents;
      let where = source;
      // For a missing field, point at the parent object instead.
      const anchor = isNode(node)
        ? node
        : path.length > 1
          ? doc.getIn(path.slice(0, -1), true)
          : doc.contents;
      if (isNode(anchor) && anchor.range) where += `:${lineCounter.linePos(anchor.range[0]).line}`;
      const field = path.length ? path.join('.') : '(root)';
      const value = issue.unknownKey ? undefined : valueAt(data, path);
      const shown = value === undefined ? '' : ` (value: ${JSON.stringify(value)?.slice(0, 60)})`;
      return `${where}: field "${field}": ${issue.message}${shown}`;
    });
  throw new ConfigError(issues.join('\n'));
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

interface FlatIssue {
  path: (string | number)[];
  message: string;
  unknownKey?: boolean;
}

type Issue = z.core.$ZodIssue;

/**
 * Turns zod's issues into one line each, generically for every schema: a union's failure is
 * replaced by the issues of the branch the input most likely meant (no literal/discriminator
 * mismatch, then fewest issues), and each unrecognized key becomes its own issue
 * `unknown key; did you mean "…"?` with the nearest key the schema knows at that place.
 */
function flattenIssues(
  issues: readonly Issue[],
  base: (string | number)[],
  schema: z.ZodType,
  data: unknown,
): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const rel = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const path = [...base, ...rel];
    const here = descend(schema, rel, valueAt(data, base));
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const options = here ? (defOf(unwrap(here)).options ?? []) : [];
      const score = (branch: readonly Issue[]) =>
        branch.filter((i) => i.code === 'invalid_value' && i.path.length <= 1).length * 1000 + branch.length;
      let best = 0;
      issue.errors.forEach((b, i) => {
        if (score(b) < score(issue.errors[best])) best = i;
      });
      if (options[best]) {
        out.push(...flattenIssues(issue.errors[best], path, options[best], data));
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      const shape = here ? defOf(unwrap(here)).shape : undefined;
      const known = shape ? Object.keys(shape) : [];
      for (const key of issue.keys)
        out.push({
          path: [...path, key],
          message: `unknown key${didYouMean(key, known) || (known.length ? `; known keys: ${known.join(', ')}` : '')}`,
          unknownKey: true,
        });
      continue;
    }
    out.push({ path, message: plainMessage(issue.message) });
  }
  return out;
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips optional/default/nullable/pipe/lazy wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const d = defOf(s) as Def & { getter?: () => z.ZodType };
    const inner = d.innerType ?? (d.type === 'pipe' ? d.in : d.type === 'lazy' ? d.getter?.() : undefined);
    if (!inner) break;
    s = inner;
  }
  return s;
}

/** zod's "Invalid input: expected string, received undefined" said as what it is: a missing field. */
function plainMessage(message: string): string {
  const m = /^Invalid input: expected (\w+), received (\w+)$/.exec(message);
  if (!m) return message;
  return m[2] === 'undefined' ? `required field missing (expected ${m[1]})` : `expected ${m[1]}, got ${m[2]}`;
}

/**
 * The schema at `path` below `schema`, reading the input `data` to pick a discriminated union's
 * branch (undefined where a union makes it ambiguous).
 */
function descend(schema: z.ZodType, path: (string | number)[], data: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  let value = data;
  for (const p of path) {
    s = s && branchFor(s, value);
    if (!s) return undefined;
    value =
      value !== null && typeof value === 'object'
        ? (value as Record<string | number, unknown>)[p]
        : undefined;
    const d = defOf(unwrap(s));
    s =
      d.type === 'object'
        ? d.shape?.[String(p)]
        : d.type === 'array'
          ? d.element
          : d.type === 'record'
            ? d.valueType
            : undefined;
  }
  return s && branchFor(s, value);
}

/** For a discriminated union, the option whose discriminator literal the input carries; else `schema`. */
function branchFor(schema: z.ZodType, value: unknown): z.ZodType | undefined {
  const d = defOf(unwrap(schema)) as Def & { discriminator?: string };
  if (d.type !== 'union' || !d.discriminator || !d.options) return schema;
  const tag =
    value !== null && typeof value === 'object'
      ? (value as Record<string, unknown>)[d.discriminator]
      : undefined;
  return d.options.find((o) => {
    const lit = defOf(unwrap(o)).shape?.[d.discriminator ?? ''];
    const values = lit ? (defOf(lit) as Def & { values?: unknown[] }).values : undefined;
    return values?.includes(tag);
  });
}
