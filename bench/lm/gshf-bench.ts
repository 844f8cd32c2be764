/**
 * gshf LM-engine benchmark: the same measurements as bench/lm/torch_gpt.py, on src/nn.
 *   train   lmLoss (forward + masked next-token NLL) + backwardLmLoss + AdamW.update, tokens/s
 *   score   tokenLogProbs (forward + per-token/per-sequence log-probs), tokens/s
 *   sample  generate() with the KV cache: ctx−1 new tokens from a 1-token prompt, temperature 1,
 *           batch 1 and 16 (n = 16 samples of one prompt), new tokens/s over all sequences
 * FLOPs: forward FLOPs/token = 2P + 4·L·T·C (P = all parameters); train = 3× forward; see torch_gpt.py.
 * Configs (identical on both sides): small = preset 'default' (vocab 259, 4 layers, d 128, 4 heads,
 * ctx 64), batch 16×64; large = preset 'large' (d 256, 8 heads, ctx 128), batch 8×128.
 *
 * Usage: node dist/bench/lm/gshf-bench.js [--configs small,large] [--quick] [--check]
 * Backend: the native addon when built (GSHF_THREADS BLAS threads, default 2); GSHF_NO_NATIVE=1 for pure TS.
 * Prints one JSON object on stdout (same shape as torch_gpt.py's).
 */
import { Rng } from '../../src/math/rng.js';
import { GPT, PRESETS, AdamW, generate, kernelBackend, type GPTConfig } from '../../src/nn/index.js';
import { native } from '../../src/native/index.js';

interface Cfg {
  preset: GPTConfig;
  batch: number;
  seq: number;
}
const CONFIGS: Record<string, Cfg> = {
  small: { preset: PRESETS.default, batch: 16, seq: 64 },
  large: { preset: PRESETS.large, batch: 8, seq: 128 },
  // ~10.9M parameters (the "big" model of docs/engine-choice.md): 6 layers, d 384, 6 heads.
  big: { preset: { ...PRESETS.large, nLayer: 6, nHead: 6, nEmbd: 384 }, batch: 8, seq: 128 },
};

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const quick = args.includes('--quick');
const check = args.includes('--check');
const configs = opt('--configs', 'small,large').split(',');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timed(fn: () => void, warmup: number, reps: number): { s: number; runs: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { s: median(runs), runs };
}

interface Timing {
  ms: number;
  tokens_per_s: number;
  gflops?: number;
  new_tokens?: number;
  runs_ms: number[];
}

function benchConfig(name: string, cfg: Cfg, pureTs: boolean): Record<string, unknown> {
  const model = new GPT(cfg.preset, 0);
  const P = model.numParams;
  const c = model.config;
  const B = cfg.batch,
    T = cfg.seq,
    L = c.nLayer,
    C = c.nEmbd;
  const fwdFlopsPerTok = 2 * P + 4 * L * T * C;
  const tokens = B * T;
  const rng = new Rng(1);
  const toks = new Int32Array(tokens);
  for (let i = 0; i < tokens; i++) toks[i] = rng.int(c.vocabSize);
  const batch = { B, T, tokens: toks, mask: new Float32Array(tokens).fill(1) };
  const res: Record<string, unknown> = {
    params: P,
    layers: L,
    d_model: C,
    heads: c.nHead,
    context: c.blockSize,
    vocab: c.vocabSize,
    batch: [B, T],
    fwd_flops_per_token: fwdFlopsPerTok,
  };
  const ms = (t: { s: number; runs: number[] }, extra: Partial<Timing> = {}): Timing => ({
    ms: t.s * 1e3,
    tokens_per_s: tokens / t.s,
    ...extra,
    runs_ms: t.runs.map((x) => x * 1e3),
  });
  // Pure TS is ~20–40× slower: fewer repetitions.
  const slow = pureTs ? 3 : 1;

  const optim = new AdamW(model, { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const trainStep = (): void => {
    model.zeroGrad();
    model.lmLoss(batch);
    model.backwardLmLoss();
    optim.update();
  };
  let t = timed(trainStep, quick ? 1 : 2, quick ? 3 : Math.ceil((name === 'small' ? 12 : 6) / slow));
  res.train = ms(t, { gflops: (3 * fwdFlopsPerTok * tokens) / t.s / 1e9 });

  t = timed(() => void model.tokenLogProbs(batch), quick ? 1 : 2, quick ? 3 : Math.ceil(12 / slow));
  res.score = ms(t, { gflops: (fwdFlopsPerTok * tokens) / t.s / 1e9 });

  const nNew = c.blockSize - 1;
  let seed = 2;
  for (const S of [1, 16]) {
    let produced = 0;
    const run = (): void => {
      const out = generate(model, [[0]], {
        n: S,
        temperature: 1,
        maxTokens: nNew,
        seed: seed++,
        kvCache: true,
      });
      produced = out[0].reduce((a, s) => a + s.tokens.length, 0);
    };
    t = timed(run, 1, quick ? 2 : Math.max(2, Math.ceil(5 / slow)));
    if (produced !== S * nNew) throw new Error(`sampling produced ${produced} tokens, expected ${S * nNew}`);
    res[`sample_b${S}`] = {
      ms: t.s * 1e3,
      new_tokens: nNew,
      tokens_per_s: (S * nNew) / t.s,
      runs_ms: t.runs.map((x) => x * 1e3),
    };
  }

  if (check) {
    // KV-cache logits must equal the full forward (same check as torch_gpt.py --check)
    const seq = Array.from({ length: c.blockSize }, () => rng.int(c.vocabSize));
    const full = Float32Array.from(model.forwardLogits(Int32Array.from(seq), 1, seq.length));
    const cache = model.createKVCache(1);
    let maxErr = 0;
    const V = c.vocabSize;
    const first = model.prefill(cache, 0, [seq[0]]);
    for (let v = 0; v < V; v++) maxErr = Math.max(maxErr, Math.abs(first[v] - full[v]));
    for (let p = 1; p < seq.length; p++) {
      const lg = model.decodeStep(cache, [0], [seq[p]], 1);
      for (let v = 0; v < V; v++) maxErr = Math.max(maxErr, Math.abs(lg[v] - full[p * V + v]));
    }
    if (maxErr > 1e-4) throw new Error(`KV-cache check failed: max |diff| = ${maxErr}`);
    res.kv_cache_max_abs_err = maxErr;
  }
  return res;
}

function main(): void {
  const nat = native();
  const pureTs = nat === null;
  const out: Record<string, unknown> = {
    engine: pureTs ? 'gshf-ts' : 'gshf-native',
    backend: kernelBackend(),
    node: process.version,
    threads: { blas: nat?.getThreads ? nat.getThreads() : null, js: 1 },
    configs: {} as Record<string, unknown>,
  };
  for (const name of configs) {
    const cfg = CONFIGS[name];
    if (!cfg) throw new Error(`unknown config ${name}; choose from ${Object.keys(CONFIGS).join(', ')}`);
    process.stderr.write(`[gshf] ${name} (${pureTs ? 'pure TS' : 'native'}) ...\n`);
    (out.configs as Record<string, unknown>)[name] = benchConfig(name, cfg, pureTs);
  }
  console.log(JSON.stringify(out, null, 1));
}

main();
