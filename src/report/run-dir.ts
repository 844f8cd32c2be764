/**
 * A run folder holds everything a run produced: the resolved config (config.json), metrics as
 * JSONL (appended line by line and flushed, so a crash loses at most the line being written),
 * the Markdown report and its SVG plots.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export class RunDir {
  readonly metricsPath: string;

  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
    this.metricsPath = join(path, 'metrics.jsonl');
  }

  /** Writes the resolved config; every run can be replayed from it. */
  writeConfig(config: unknown): void {
    this.writeAtomic('config.json', JSON.stringify(config, null, 2) + '\n');
  }

  appendMetric(record: Record<string, unknown>): void {
    appendFileSync(this.metricsPath, JSON.stringify(record) + '\n');
  }

  /** Metrics already written (for resuming); a torn last line from a crash is ignored. */
  readMetrics(): Record<string, unknown>[] {
    if (!existsSync(this.metricsPath)) return [];
    const out: Record<string, unknown>[] = [];
    for (const line of readFileSync(this.metricsPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // torn write at a crash: skip
      }
    }
    return out;
  }

  /** Write a file through a temporary name, so readers never see a half-written file. */
  writeAtomic(name: string, content: string): string {
    const p = join(this.path, name);
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, content);
    renameSync(tmp, p);
    return p;
  }
}
