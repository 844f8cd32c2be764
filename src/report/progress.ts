/**
 * Progress for long work. On a TTY: a redrawn bar with rate and ETA. Piped or under CI: a plain
 * line at most every `intervalMs` (and at the end), so logs stay readable. GSHF_QUIET=1 silences it.
 */

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  quiet?: boolean;
  /**
   * Units whose time the ETA ignores (default 1): the first unit often carries one-off work (an
   * initial evaluation, buffer allocation) and alone would predict a far too long run.
   */
  warmup?: number;
  /** The ETA's rate is measured over the last this many ticks (default 50), not since the start. */
  window?: number;
  /** Clock in milliseconds (tests inject a fake one). */
  now?: () => number;
}

export class Progress {
  private done_ = 0;
  private readonly now: () => number;
  private readonly start: number;
  private lastPrint = 0;
  private readonly warmup: number;
  private readonly window: number;
  /** (units done, time) at recent ticks, oldest first. */
  private readonly samples: { done: number; t: number }[] = [];
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
    this.now = opts.now ?? Date.now;
    this.start = this.now();
    this.warmup = opts.warmup ?? 1;
    this.window = Math.max(1, opts.window ?? 50);
  }

  /**
   * Seconds left at the recent rate (units after the warm-up, over the last `window` ticks);
   * undefined until two ticks past the warm-up have been seen.
   */
  eta(): number | undefined {
    const last = this.samples[this.samples.length - 1];
    const ref = this.samples.find((s) => s.done >= this.warmup);
    if (!last || !ref || ref === last || last.t <= ref.t) return undefined;
    const rate = (last.done - ref.done) / (last.t - ref.t);
    return rate > 0 ? Math.max(0, this.total - this.done_) / rate / 1000 : undefined;
  }

  get completed(): number {
    return this.done_;
  }

  /** Advance by n units; `info` is a short status shown after the counter. */
  tick(n = 1, info?: string): void {
    this.done_ += n;
    if (info !== undefined) this.info = info;
    const now = this.now();
    this.samples.push({ done: this.done_, t: now });
    if (this.samples.length > this.window + 1) this.samples.shift();
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
    const elapsed = (this.now() - this.start) / 1000;
    const frac = this.total > 0 ? Math.min(1, this.done_ / this.total) : 1;
    const etaSec = this.eta();
    const eta = etaSec === undefined ? '…' : fmtSeconds(etaSec);
    const counter = `${this.done_}/${this.total}`;
    const timing = final ? `${fmtSeconds(elapsed)}` : `${fmtSeconds(elapsed)} elapsed, ETA ${eta}`;
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
