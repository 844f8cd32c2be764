/**
 * The one stage memo of run folders. A stage is a folder `<root>/<id>/` whose `result.json` is
 * written last, atomically: a finished stage is read back instead of rerun (resume), an unfinished
 * one (a crash before result.json) is wiped and rerun from scratch, so a stage must be a
 * deterministic function of its inputs (labels come back from the ledger for free). `timing.json`
 * keeps the stage's wall-clock seconds apart from its result.
 *
 * The miniature's stages (`gshf lm reproduce`: stages/<id>/) and the loop's steps within an
 * iteration (`gshf loop`: iterations/it<t>/steps/<step>/) are both StageMemos; `step` makes one a
 * step store of the shared online iteration.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic.js';

export class StageMemo {
  constructor(
    readonly root: string,
    /** Called when a stage finishes (skipped = read back from an earlier run). */
    private readonly onStage: (id: string, skipped: boolean) => void = () => {},
  ) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  /** True when the stage's result.json exists (written last, atomically). */
  done(id: string): boolean {
    return existsSync(join(this.dir(id), 'result.json'));
  }

  read<T>(id: string): T {
    return JSON.parse(readFileSync(join(this.dir(id), 'result.json'), 'utf8')) as T;
  }

  /** Runs a stage unless it is done; `fn` gets the stage's (fresh, empty) folder. */
  run<T>(id: string, fn: (dir: string) => T): T {
    if (this.done(id)) return this.skip<T>(id);
    const dir = this.begin(id);
    const t0 = performance.now();
    return this.finish(id, dir, fn(dir), t0);
  }

  /** `run` for a stage whose body is asynchronous. */
  async runAsync<T>(id: string, fn: (dir: string) => Promise<T>): Promise<T> {
    if (this.done(id)) return this.skip<T>(id);
    const dir = this.begin(id);
    const t0 = performance.now();
    return this.finish(id, dir, await fn(dir), t0);
  }

  /** The shared iteration's step store: each step a stage with nothing but its result. */
  step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.runAsync(name, () => fn());
  }

  private skip<T>(id: string): T {
    this.onStage(id, true);
    return this.read<T>(id);
  }

  private begin(id: string): string {
    const dir = this.dir(id);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private finish<T>(id: string, dir: string, result: T, t0: number): T {
    const seconds = (performance.now() - t0) / 1000;
    writeJsonAtomic(join(dir, 'result.json'), result);
    writeJsonAtomic(join(dir, 'timing.json'), { seconds });
    this.onStage(id, false);
    return result;
  }
}
