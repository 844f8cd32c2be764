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
import { JsonSyntaxError, parseJsonStrict } from '../math/json.js';

// The pure parser lives in src/math/json.ts (so src/nn and src/bandit can use it too).
export { findDuplicateKey, JsonSyntaxError, parseJsonStrict, syntaxErrorAt } from '../math/json.js';

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
