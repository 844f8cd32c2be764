/**
 * Loads a JSON or YAML config and validates it with a zod schema. Errors name the file, the line,
 * the field path and the offending value, e.g.
 *   examples/x.yaml:7: field "sweep.seeds": expected number, received string (value: "three")
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

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
    throw new ConfigError(`${source}:${pos.line}:${pos.col}: ${err.message.split('\n')[0]}`);
  }
  // An empty file (or one with only comments) is a mistake, not "take every default": a default run
  // of some commands takes minutes. `{}` says "all defaults" explicitly.
  if (doc.contents === null)
    throw new ConfigError(`${source}: the config file is empty (write "{}" to take every default)`);
  const data: unknown = doc.toJS();
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const node = path.length ? doc.getIn(path, true) : doc.contents;
    let where = source;
    // For a missing field, point at the parent object instead.
    const anchor = isNode(node) ? node : path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
    if (isNode(anchor) && anchor.range) where += `:${lineCounter.linePos(anchor.range[0]).line}`;
    const field = path.length ? path.join('.') : '(root)';
    const value = valueAt(data, path);
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
