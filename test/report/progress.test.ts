import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../src/report/progress.js';

/** A fake clock and a sink stream, so the ETA is checked on exact numbers, not wall time. */
function setup(total: number, opts: { warmup?: number; window?: number } = {}) {
  let t = 0;
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const bar = new Progress('sft', total, { stream, now: () => t, intervalMs: 0, quiet: false, ...opts });
  return { bar, lines, advance: (ms: number) => (t += ms) };
}

test('the ETA ignores a slow first step (2000 steps: 600 s first step, then 1 s/step)', () => {
  const { bar, lines, advance } = setup(2000);
  advance(600_000); // initial validation + first step
  bar.tick();
  assert.equal(bar.eta(), undefined, 'no rate yet: one tick is all warm-up');
  assert.match(lines[0], /ETA …/);
  for (let i = 0; i < 9; i++) {
    advance(1000);
    bar.tick();
  }
  // 1990 steps left at 1 step/s; the old cumulative rate (10 steps / 609 s) predicted ≈ 33.7 hours
  assert.equal(bar.eta(), 1990);
  assert.match(lines[lines.length - 1], /10\/2000 .*ETA 33m10s/);
});

test('the ETA follows the recent rate over a moving window', () => {
  const { bar, advance } = setup(100, { window: 4, warmup: 0 });
  for (let i = 0; i < 10; i++) {
    advance(1000);
    bar.tick();
  }
  assert.equal(bar.eta(), 90);
  for (let i = 0; i < 4; i++) {
    advance(4000); // the run slowed down 4×
    bar.tick();
  }
  assert.equal(bar.eta(), 86 * 4, 'only the last 4 ticks count');
});
