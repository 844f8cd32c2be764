/**
 * The one JSONL reader (and strict JSON parser) with one error format:
 *   `file:line: message (field "x", value …)`   thrown as `GshfInputError`
 *
 * - Every object is checked for duplicate keys (JSON.parse silently keeps the last one; we refuse).
 * - A record in the middle of a file that does not parse is always an error with its line number:
 *   a record is never dropped silently.
 * - The last line is "torn" when it has no trailing newline and does not parse: the signature of a
 *   write cut short by a crash or a full disk. `torn: 'refuse'` (default) throws `TornLineError`;
 *   `torn: 'repair'` truncates the file to its last complete line and reports what was dropped in
 *   `result.repaired` (the caller must tell the user). A last line without a newline that does
 *   parse is a complete record (hand-written files often lack the final newline); with 'repair'
 *   the newline is added so the next append starts on a fresh line.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { GshfInputError, ioError } from '../math/errors.js';

export interface JsonlRecord {
  /** 1-based line number in the file. */
  line: number;
  value: unknown;
}

export interface TornRepair {
  /** Line number of the torn fragment. */
  line: number;
  /** Bytes truncated from the end of the file. */
  bytesDropped: number;
}

export interface JsonlResult {
  records: JsonlRecord[];
  /** Set when `torn: 'repair'` truncated a torn last line. */
  repaired: TornRepair | null;
}

export interface JsonlOptions {
  /** What to do with a torn last line: throw `TornLineError` (default) or truncate it. */
  torn?: 'refuse' | 'repair';
  /** A missing file reads as empty instead of an error. */
  missingOk?: boolean;
}

/** A torn (incomplete, unparseable, newline-less) last line; see the module comment. */
export class TornLineError extends GshfInputError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly bytes: number,
    advice?: string,
  ) {
    super(
      `incomplete last line (${bytes} bytes without a newline that do not parse as JSON: a write was cut short, e.g. by a crash or a full disk)${advice ? `; ${advice}` : ''}`,
      { file, line },
    );
  }
}

/** True for a `.jsonl` path, in any letter case (`.JSONL`, `.Jsonl`). */
export function isJsonlPath(path: string): boolean {
  return /\.jsonl$/i.test(path);
}

/** Reads and parses a JSON file strictly (duplicate keys refused); errors name the file and line. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError(e, path, 'read the file');
  }
  if (text.trim() === '') throw new GshfInputError('empty file, expected JSON', { file: path });
  return parseJsonStrict(text, path);
}

/** Reads a JSONL file; see the module comment for torn lines and duplicate keys. */
export function readJsonl(path: string, opts: JsonlOptions = {}): JsonlResult {
  if (opts.missingOk && !existsSync(path)) return { records: [], repaired: null };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError(e, path, 'read the file');
  }
  const { records, torn } = parseJsonl(text, path);
  if (!torn) {
    if (opts.torn === 'repair' && text.length > 0 && !text.endsWith('\n')) appendNewline(path);
    return { records, repaired: null };
  }
  if (opts.torn !== 'repair') throw new TornLineError(path, torn.line, torn.bytes);
  try {
    truncateSync(path, Buffer.byteLength(text, 'utf8') - torn.bytes);
  } catch (e) {
    throw ioError(e, path, 'truncate the torn last line of');
  }
  return { records, repaired: { line: torn.line, bytesDropped: torn.bytes } };
}

/**
 * Parses JSONL text. Returns the records and, instead of throwing, a torn last line (if any), so
 * callers decide; any other bad line throws `GshfInputError` with its line number.
 */
export function parseJsonl(
  text: string,
  file: string,
): { records: JsonlRecord[]; torn: { line: number; bytes: number } | null } {
  const records: JsonlRecord[] = [];
  const lines = text.split('\n');
  const lastComplete = text.endsWith('\n') ? lines.length - 1 : lines.length - 2; // index of last line ending in \n
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === '') continue;
    try {
      records.push({ line: i + 1, value: parseJsonStrict(raw, file, i + 1) });
    } catch (e) {
      if (i > lastComplete && e instanceof JsonSyntaxError)
        return { records, torn: { line: i + 1, bytes: Buffer.byteLength(lines[i], 'utf8') } };
      throw e;
    }
  }
  return { records, torn: null };
}

class JsonSyntaxError extends GshfInputError {}

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

function appendNewline(path: string): void {
  try {
    const fd = openSync(path, 'a');
    try {
      writeSync(fd, '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw ioError(e, path, 'append to');
  }
}
