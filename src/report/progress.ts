/**
 * Progress for long work. On a TTY: a redrawn bar with rate and ETA. Piped or under CI: a plain
 * line at most every `intervalMs` (and at the end), so logs stay readable. GSHF_QUIET=1 silences it.
 */

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  quiet?: boolean;
}

export class Progress {
  private done_ = 0;
  private readonly start = Date.now();
  private lastPrint = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly intervalMs: number;
  private info = '';

  constructor(
    private readonly label: string,
    private readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
    this.quiet = opts.quiet ?? process.env.GSHF_QUIET === '1';
    this.intervalMs = opts.intervalMs ?? (this.tty ? 100 : 5000);
  }

  get completed(): number {
    return this.done_;
  }

  /** Advance by n units; `info` is a short status shown after the counter. */
  tick(n = 1, info?: string): void {
    this.done_ += n;
    if (info !== undefined) this.info = info;
    const now = Date.now();
    if (this.done_ >= this.total || now - this.lastPrint >= this.intervalMs) {
      this.lastPrint = now;
      this.render(false);
    }
  }

  /** Final line (always printed unless quiet). */
  finish(info?: string): void {
    if (info !== undefined) this.info = info;
    this.render(true);
  }

  private render(final: boolean): void {
    if (this.quiet) return;
    const elapsed = (Date.now() - this.start) / 1000;
    const frac = this.total > 0 ? Math.min(1, this.done_ / this.total) : 1;
    const rate = elapsed > 0 ? this.done_ / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.done_) / rate : 0;
    const counter = `${this.done_}/${this.total}`;
    const timing = final
      ? `${fmtSeconds(elapsed)}`
      : `${fmtSeconds(elapsed)} elapsed, ETA ${fmtSeconds(eta)}`;
    const tail = this.info ? ` ${this.info}` : '';
    if (this.tty) {
      const width = 28;
      const filled = Math.round(frac * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(`\r\x1b[2K${this.label} ${bar} ${counter} ${timing}${tail}${final ? '\n' : ''}`);
    } else {
      this.stream.write(`${this.label}: ${counter} (${(frac * 100).toFixed(0)}%) ${timing}${tail}\n`);
    }
  }
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - 60 * m)
    .toString()
    .padStart(2, '0')}s`;
}
