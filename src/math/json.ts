/**
 * Strict JSON parsing shared by every layer: `parseJsonStrict` is JSON.parse that also refuses
 * duplicate keys (JSON.parse silently keeps the last one) and reports syntax errors as
 * `file:line: invalid JSON (expected …, got …)` (`GshfInputError`). File reading and JSONL live
 * in src/report/jsonl.ts.
 */
import { GshfInputError } from './errors.js';

/** A JSON syntax error (as opposed to a duplicate key or a schema error). */
export class JsonSyntaxError extends GshfInputError {}

/**
 * JSON.parse that also refuses duplicate keys, with errors `file[:line]: message`. `line` is the
 * line of `text` within the file (for JSONL records); for a whole file it is computed from the
 * syntax error's position when available.
 */
export function parseJsonStrict(text: string, file: string, line?: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const where = syntaxErrorAt(text);
    const msg = where ? where.message : (e as Error).message.split('\n')[0];
    const at = line ?? (where ? lineOf(text, where.pos) : undefined);
    throw new JsonSyntaxError(`invalid JSON (${msg})`, { file, line: at });
  }
  const dup = findDuplicateKey(text);
  if (dup)
    throw new GshfInputError(`duplicate key "${dup.key}" in one object (JSON keeps only the last one)`, {
      file,
      line: line ?? lineOf(text, dup.pos),
      field: dup.path,
    });
  return value;
}

/**
 * Where JSON.parse failed, with a short message (Node 20's messages often carry no position).
 * A small recursive-descent checker, run only after JSON.parse has failed.
 */
export function syntaxErrorAt(text: string): { pos: number; message: string } | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    const got = i >= text.length ? 'end of input' : `'${text[i]}'`;
    throw { pos: i, message: `expected ${what}, got ${got}` };
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail('a closing quote (control character in string)');
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail('a closing quote');
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a key in double quotes');
        str();
        ws();
        if (text[i] !== ':') fail("':'");
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail("',' or '}'");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail("',' or ']'");
      }
    } else if (c === '"') str();
    else {
      const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!m) fail('a value');
      i += (m as RegExpExecArray)[0].length;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail('end of input');
    return null;
  } catch (e) {
    return e as { pos: number; message: string };
  }
}

function lineOf(text: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * Scans syntactically valid JSON for an object with a repeated key. Returns the first one with its
 * position and a field path (`a.b[2].c`), or null. Linear in the text length.
 */
export function findDuplicateKey(text: string): { key: string; pos: number; path: string } | null {
  // Stack of containers: for objects, the keys seen so far and the key being parsed.
  type Frame = { keys: Set<string> | null; name: string; index: number };
  const stack: Frame[] = [];
  let expectKey = false;
  const pathOf = (key?: string) => {
    let p = '';
    // Each container's current key or index, except the innermost object's (that is `key`).
    stack.forEach((f, k) => {
      if (f.keys === null) p += `[${f.index}]`;
      else if (k < stack.length - 1) p += p ? `.${f.name}` : f.name;
    });
    if (key !== undefined) p += p ? `.${key}` : key;
    return p;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), name: '', index: 0 });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, name: '', index: 0 });
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top && top.keys === null) top.index++;
      expectKey = top !== undefined && top.keys !== null;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      if (expectKey) {
        const raw = text.slice(i + 1, j);
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        const top = stack[stack.length - 1];
        if (top.keys!.has(key)) return { key, pos: i, path: pathOf(key) };
        top.keys!.add(key);
        top.name = key;
        expectKey = false;
      }
      i = j;
    }
  }
  return null;
}
