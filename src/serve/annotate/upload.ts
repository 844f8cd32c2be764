/**
 * Task files uploaded from the admin page: JSONL (one task object per line, the push API's shape),
 * CSV (RFC 4180: a header row; columns id, kind, prompt, a, b, priority, gold, response_1..10 and
 * meta_<key>) and Parquet (hyparquet; the same column names, or `responses`/`metadata` columns
 * holding a list/struct). Every record goes through the push API's schema; errors name the record.
 */
import { csvRows } from '../../pref/data.js';
import { parseJsonl } from '../../report/jsonl.js';
import { GshfInputError } from '../../math/errors.js';
import { TaskInput, type TaskInputValue } from './schemas.js';
import { HttpError, parseInput } from './validate.js';

export type UploadFormat = 'jsonl' | 'csv' | 'parquet';

const MAX_RECORDS = 10_000;

export async function parseUpload(file: Buffer, format: UploadFormat): Promise<TaskInputValue[]> {
  const records = await readRecords(file, format);
  if (records.length === 0)
    throw new HttpError(400, 'bad_request', `file: no records in this ${format} file`);
  if (records.length > MAX_RECORDS)
    throw new HttpError(
      400,
      'bad_request',
      `file: ${records.length} records; at most ${MAX_RECORDS} per upload`,
    );
  return records.map(({ where, value }) => parseInput(TaskInput, value, where));
}

async function readRecords(file: Buffer, format: UploadFormat): Promise<{ where: string; value: unknown }[]> {
  if (format === 'jsonl') {
    try {
      return parseJsonl(file.toString('utf8'), 'file').records.map((r) => ({
        where: `file line ${r.line}`,
        value: r.value,
      }));
    } catch (e) {
      if (e instanceof GshfInputError) throw new HttpError(400, 'bad_request', e.message);
      throw e;
    }
  }
  const rows = format === 'csv' ? csvObjects(file.toString('utf8')) : await parquetObjects(file);
  return rows.map((r, i) => ({
    where: `file ${format === 'csv' ? 'line' : 'row'} ${r.line ?? i + 1}`,
    value: foldColumns(r.row, format === 'csv'),
  }));
}

/** Flat columns → a task object: response_N → responses, meta_KEY → metadata, CSV numbers/empties. */
export function foldColumns(row: Record<string, unknown>, fromCsv: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const responses: [number, unknown][] = [];
  const metadata: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(row)) {
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (fromCsv && v === '') continue;
    if (v === null || v === undefined) continue;
    const rm = /^response_(\d+)$/.exec(k);
    if (rm) responses.push([Number(rm[1]), v]);
    else if (k.startsWith('meta_') && k.length > 5) metadata[k.slice(5)] = v;
    else if (k === 'priority' && fromCsv) out.priority = Number(v);
    else out[k] = v;
  }
  if (responses.length > 0) out.responses = responses.sort((x, y) => x[0] - y[0]).map(([, v]) => v);
  if (Object.keys(metadata).length > 0) out.metadata = { ...(out.metadata as object), ...metadata };
  return out;
}

/**
 * RFC 4180 CSV → one object per data row, keyed by the header: the project's one CSV reader
 * (src/pref/data.ts `csvRows`, csv-parse), its errors as 400s naming the file line.
 */
export function csvObjects(text: string): { line: number; row: Record<string, string> }[] {
  try {
    return csvRows(text, 'file').map(({ line, obj }) => ({ line, row: obj as Record<string, string> }));
  } catch (e) {
    if (e instanceof GshfInputError)
      throw new HttpError(400, 'bad_request', e.message.replace(/^file:(\d+):/, 'file line $1:'));
    throw e;
  }
}

async function parquetObjects(file: Buffer): Promise<{ line?: number; row: Record<string, unknown> }[]> {
  const { parquetReadObjects } = await import('hyparquet');
  const ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  try {
    const rows = (await parquetReadObjects({ file: ab })) as Record<string, unknown>[];
    return rows.map((row) => ({ row }));
  } catch (e) {
    throw new HttpError(400, 'bad_request', `file: not a readable Parquet file (${(e as Error).message})`);
  }
}
