/**
 * The `local` policy backend: gshf's own engine. Policies are checkpoint folders (gshf lm sft /
 * gshf pref dpo outputs); sampling is src/nn `generate` (seeded per sample, token ids kept, so
 * log-probs are scored on exactly the sampled sequences) and training is src/pref/dpo.ts DPO with
 * the reference fixed to π0 (its log-probs computed once per data set). Each iteration's policy is
 * written to `<out>/policy`.
 */
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  encodePairIds,
  generate,
  loadCheckpoint,
  saveCheckpoint,
  scoreEncoded,
  type EncodedSeq,
  type GPT,
  type Tokenizer,
} from '../nn/index.js';
import { referenceLogProbs, trainDpo, type EncodedPair } from '../pref/dpo.js';
import type { LossType } from '../pref/losses.js';
import type { PolicyBackend, PolicyRef, PolicySample, TrainRequest, TrainResult } from './types.js';

export const samplingSchema = z
  .object({
    temperature: z.number().min(0).default(1),
    topP: z.number().gt(0).max(1).default(1),
    maxTokens: z.number().int().positive().default(64),
  })
  .strict();

export const dpoSchema = z
  .object({
    /** η: the KL weight (DPO's β). */
    eta: z.number().positive().default(0.1),
    loss: z
      .enum(['sigmoid', 'cdpo', 'robust', 'ipo', 'hinge'] as const satisfies readonly LossType[])
      .default('sigmoid'),
    labelSmoothing: z.number().min(0).max(0.5).default(0),
    epochs: z.number().int().positive().default(2),
    batch: z.number().int().positive().default(16),
    lr: z.number().positive().default(5e-4),
  })
  .strict();
export type DpoConfig = z.output<typeof dpoSchema>;

export const localPolicySchema = z
  .object({
    kind: z.literal('local'),
    /** π0: a gshf LM checkpoint folder (also the DPO reference). */
    model: z.string().min(1),
    sampling: samplingSchema.default({ temperature: 1, topP: 1, maxTokens: 64 }),
    dpo: dpoSchema.default({ eta: 0.1, loss: 'sigmoid', labelSmoothing: 0, epochs: 2, batch: 16, lr: 5e-4 }),
  })
  .strict();
export type LocalPolicyConfig = z.output<typeof localPolicySchema>;

/** A local sample keeps its token ids and whether it stopped at EOS. */
export interface LocalSample extends PolicySample {
  tokens: number[];
  stop: boolean;
}

interface Loaded {
  model: GPT;
  tok: Tokenizer;
}

export class LocalPolicy implements PolicyBackend<LocalSample> {
  readonly name = 'local';
  readonly initial: PolicyRef;
  private readonly cache = new Map<PolicyRef, Loaded>();

  constructor(private readonly cfg: LocalPolicyConfig) {
    this.initial = resolve(cfg.model);
  }

  /** Loads a policy (the two most recent stay cached; π0 always). */
  load(ref: PolicyRef): Loaded {
    const hit = this.cache.get(ref);
    if (hit) return hit;
    const { model, tokenizer } = loadCheckpoint(ref);
    const out = { model, tok: tokenizer };
    this.cache.set(ref, out);
    for (const k of this.cache.keys())
      if (this.cache.size > 3 && k !== this.initial && k !== ref) this.cache.delete(k);
    return out;
  }

  async sample(
    ref: PolicyRef,
    prompts: readonly string[],
    n: number,
    seed: string,
  ): Promise<LocalSample[][]> {
    const { model, tok } = this.load(ref);
    const s = this.cfg.sampling;
    const ids = prompts.map((p) => [tok.bos, ...tok.encode(p)]);
    const out = generate(model, ids, {
      n,
      temperature: s.temperature,
      topP: s.topP,
      maxTokens: s.maxTokens,
      stop: [tok.eos],
      seed,
    });
    return out.map((row) =>
      row.map((x) => ({ text: tok.decode(x.tokens), tokens: x.tokens, stop: x.finish === 'stop' })),
    );
  }

  /** [BOS] prompt response [EOS if it stopped]: exactly the sampled ids. */
  private encode(tok: Tokenizer, blockSize: number, prompt: string, s: PolicySample): EncodedSeq {
    const tokens = s.tokens ?? tok.encode(s.text);
    return encodePairIds(tok, tok.encode(prompt), tokens, blockSize, s.stop ?? true);
  }

  async train(req: TrainRequest<LocalSample>): Promise<TrainResult> {
    const ref = this.load(req.ref);
    const { model: init, tok } = this.load(req.init);
    const policy = init.clone();
    const bs = policy.config.blockSize;
    const enc: EncodedPair[] = req.pairs.map((p) => ({
      chosen: this.encode(tok, bs, p.prompt, p.chosen),
      rejected: this.encode(tok, bs, p.prompt, p.rejected),
    }));
    const refLp = referenceLogProbs(ref.model, tok, enc, { batchSize: 64 });
    const c = this.cfg.dpo;
    const res = trainDpo(policy, tok, enc, refLp, {
      beta: c.eta,
      loss: c.loss,
      labelSmoothing: c.labelSmoothing,
      epochs: c.epochs,
      batchSize: c.batch,
      lr: c.lr,
      seed: req.seed,
    });
    const dir = join(req.out, 'policy');
    saveCheckpoint(dir, policy, tok, { iteration: req.iteration, init: req.init, ref: req.ref });
    const ref2 = resolve(dir);
    this.cache.set(ref2, { model: policy, tok });
    const perEpoch = Math.ceil(enc.length / Math.min(c.batch, enc.length));
    const last = res.history.slice(-perEpoch);
    const avg = (f: (m: (typeof last)[number]) => number): number =>
      last.reduce((a, m) => a + f(m), 0) / Math.max(1, last.length);
    return {
      policy: ref2,
      summary: {
        pairs: enc.length,
        steps: res.steps,
        loss: avg((m) => m.loss),
        accuracy: avg((m) => m['rewards/accuracies']),
        margin: avg((m) => m['rewards/margins']),
      },
    };
  }

  async logProbs(
    ref: PolicyRef,
    prompts: readonly string[],
    responses: readonly PolicySample[],
  ): Promise<number[]> {
    const { model, tok } = this.load(ref);
    const seqs = responses.map((r, i) => this.encode(tok, model.config.blockSize, prompts[i], r));
    return scoreEncoded(model, seqs, tok.pad, 64).map((x) => x.logProb);
  }
}
