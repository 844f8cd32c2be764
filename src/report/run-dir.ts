/**
 * A run folder holds everything a run produced: the resolved config (config.json), metrics as
 * JSONL (appended line by line, so a crash loses at most the line being written), the Markdown
 * report and its SVG plots.
 *
 * Opening a `RunDir` takes the folder's exclusive lock (`lock.ts`): a second process writing the
 * same folder is refused with a `GshfLockError` naming the holder. The lock is released by
 * `release()` or when the process ends.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { acquireRunLock, type RunLock } from './lock.js';
import { readJsonFile, readJsonl, type TornRepair } from './jsonl.js';
import { writeFileAtomic } from './atomic.js';
import { GshfInputError, ioError } from '../math/errors.js';

export interface MetricsRead {
  records: Record<string, unknown>[];
  /** Set when a torn last line was truncated (the caller must say so). */
  repaired: TornRepair | null;
}

export class RunDir {
  readonly metricsPath: string;
  private readonly lock: RunLock;

  constructor(
    readonly path: string,
    opts: { log?: (line: string) => void } = {},
  ) {
    this.lock = acquireRunLock(path, opts); // also creates the folder
    this.metricsPath = join(path, 'metrics.jsonl');
  }

  /** Releases the folder's lock (idempotent; also done at process exit). */
  release(): void {
    this.lock.release();
  }

  /** Writes the resolved config; every run can be replayed from it. */
  writeConfig(config: unknown): void {
    this.writeAtomic('config.json', JSON.stringify(config, null, 2) + '\n');
  }

  /** Reads a JSON file of the folder (e.g. config.json); errors name the file and line. */
  readJson(name: string): unknown {
    return readJsonFile(join(this.path, name));
  }

  hasFile(name: string): boolean {
    return existsSync(join(this.path, name));
  }

  appendMetric(record: Record<string, unknown>): void {
    try {
      appendFileSync(this.metricsPath, JSON.stringify(record) + '\n');
    } catch (e) {
      throw ioError(e, this.metricsPath, 'append to');
    }
  }

  /**
   * Metrics already written (for resuming or rebuilding a report). A torn last line (a write cut
   * short by a crash) is refused with `TornLineError`, or with `{repair: true}` truncated and
   * reported in `repaired`. A bad line in the middle is always an error with its line number.
   */
  readMetrics(opts: { repair?: boolean } = {}): MetricsRead {
    const r = readJsonl(this.metricsPath, { missingOk: true, torn: opts.repair ? 'repair' : 'refuse' });
    const records = r.records.map(({ line, value }) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new GshfInputError('expected a JSON object per line', {
          file: this.metricsPath,
          line,
          value,
        });
      return value as Record<string, unknown>;
    });
    return { records, repaired: r.repaired };
  }

  /** Writes a file through a temporary name + fsync + rename; returns its path. */
  writeAtomic(name: string, content: string): string {
    const p = join(this.path, name);
    writeFileAtomic(p, content);
    return p;
  }
}
