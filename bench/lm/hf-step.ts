/**
 * gshf side of bench/lm/hf_step.py: the same DPO-shaped step (log-probs of B sequences, backward of
 * their sum, AdamW) and scoring on a Hugging Face folder. Usage:
 *   node dist/bench/lm/hf-step.js <folder> <B> <T> <reps>  → JSON on stdout.
 */
import { performance } from 'node:perf_hooks';
import { AdamW, autoKernelThreads, loadCheckpoint } from '../../src/nn/index.js';
import { Rng } from '../../src/math/rng.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const [folder, Bs, Ts, repsS] = process.argv.slice(2);
  const B = Number(Bs);
  const T = Number(Ts);
  const reps = Number(repsS);
  const { model } = loadCheckpoint(folder, { maxContext: T });
  autoKernelThreads(model.numParams);
  const rng = new Rng(0);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(269));
  const mask = Float32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 0 : 1));
  const batch = { B, T, tokens, mask };
  const opt = new AdamW(model, { lr: 1e-5, weightDecay: 0 });
  const w = new Float64Array(B).fill(1);
  const step = (): void => {
    model.zeroGrad();
    model.tokenLogProbs(batch);
    model.backwardSeqLogProbs(w);
    opt.update();
  };
  const score = (): void => void model.tokenLogProbs(batch);
  const out: Record<string, number> = {};
  for (const [name, fn] of [
    ['step', step],
    ['score', score],
  ] as const) {
    fn();
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      fn();
      ts.push((performance.now() - t0) / 1000);
    }
    out[name + '_s'] = median(ts);
    out[name + '_tok_s'] = (B * T) / median(ts);
  }
  out.rss_gb = process.memoryUsage().rss / 2 ** 30;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
