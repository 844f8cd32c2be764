/**
 * The config of `gshf lm reproduce`: π0 (SFT), the prompt pool and its split, the gold oracle, the
 * per-method human-label budget, the reward-model ensemble, DPO, each method, evaluation and the
 * η-frontier. Validated with zod; see examples/lm/reproduce.yaml for the shipped default.
 *
 * Label budget (per method, per seed): B = labels.rmSeed + iterations · labels.perIteration.
 * The pool of π0 pairs labelled by the oracle has B pairs: the "seed" part (rmSeed pairs, trains the
 * online methods' first reward model) and the "rest" (T·m pairs). Offline DPO trains on all B pairs;
 * RSO and multi-step RSO rank with a reward model trained on all B pairs; the online methods spend
 * rmSeed labels on their first reward model and at most m oracle labels per iteration.
 */
import { z } from 'zod';
import { PRESETS, SFT_DEFAULTS } from '../nn/index.js';

const presetName = z.enum(Object.keys(PRESETS) as [keyof typeof PRESETS, ...(keyof typeof PRESETS)[]]);

export const modelSpecSchema = z
  .object({
    /** Base preset from src/nn/config.ts; the fields below override it. */
    preset: presetName.default('default'),
    nLayer: z.number().int().min(1).max(64).optional(),
    nHead: z.number().int().min(1).max(64).optional(),
    nEmbd: z.number().int().min(1).max(4096).optional(),
    blockSize: z.number().int().min(8).max(4096).optional(),
  })
  .strict();
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** π0's SFT: the same entry point and defaults as `gshf lm sft` (nn SFT_DEFAULTS). */
const sftSchema = z
  .object({
    /** "builtin" (data/corpus/reviews.jsonl) or a JSONL/text file. */
    data: z.string().min(1).default('builtin'),
    steps: z.number().int().min(1).default(SFT_DEFAULTS.steps),
    batch: z.number().int().min(1).default(SFT_DEFAULTS.batchSize),
    accumulation: z.number().int().min(1).default(SFT_DEFAULTS.accumulation),
    lr: z.number().positive().default(SFT_DEFAULTS.lr),
    /** Default min(100, steps/10). */
    warmup: z.number().int().min(0).optional(),
    weightDecay: z.number().min(0).default(SFT_DEFAULTS.weightDecay),
    clip: z.number().min(0).default(SFT_DEFAULTS.gradClip),
    evalEvery: z.number().int().min(0).default(SFT_DEFAULTS.evalEvery),
    valFraction: z.number().min(0).max(0.5).default(SFT_DEFAULTS.valFraction),
    seed: z.number().int().default(SFT_DEFAULTS.seed),
  })
  .strict();

const promptsSchema = z
  .object({
    /**
     * "generated": "Review of <adjective> <product>:" for every adjective × corpus product (plus the
     * bare corpus prompts), so the pool is large enough for disjoint sets; or a prompts file
     * (.jsonl with "prompt" or one prompt per line).
     */
    source: z.union([z.literal('generated'), z.string().min(1)]).default('generated'),
    adjectives: z
      .array(z.string().min(1))
      .default([
        'red',
        'blue',
        'old',
        'new',
        'cheap',
        'big',
        'small',
        'green',
        'black',
        'white',
        'pink',
        'gray',
        'used',
        'spare',
        'mini',
        'smart',
      ]),
    validation: z.number().int().min(1).default(32),
    test: z.number().int().min(1).default(64),
    /**
     * Out-of-distribution test prompts: "Review of <adjective> <product>:" with adjectives that occur
     * neither in the pool nor in the SFT corpus (0 = no OOD split). Evaluated for the offline arms.
     */
    ood: z.number().int().min(0).default(0),
    oodAdjectives: z
      .array(z.string().min(1))
      .default(['purple', 'wooden', 'plastic', 'metal', 'yellow', 'vintage', 'silver', 'leather']),
    /** Seed of the split (the same split for every preference seed: test numbers stay comparable). */
    seed: z.number().int().default(7),
  })
  .strict();

const samplingSchema = z
  .object({
    temperature: z.number().positive().default(1),
    maxTokens: z.number().int().min(1).default(40),
  })
  .strict();

const rmSchema = z
  .object({
    /** Ensemble members K (mean = the reward model, std = its uncertainty). */
    members: z.number().int().min(1).max(16).default(3),
    epochs: z.number().int().min(1).default(3),
    batch: z.number().int().min(1).default(16),
    lr: z.number().positive().default(1e-3),
    bootstrap: z.boolean().default(true),
  })
  .strict();

const dpoSchema = z
  .object({
    /** η = DPO's β (KL strength; π ∝ π0·exp(r/η)). */
    eta: z.number().positive().default(0.1),
    loss: z.enum(['sigmoid', 'cdpo', 'robust', 'ipo', 'hinge']).default('sigmoid'),
    labelSmoothing: z.number().min(0).max(0.49).default(0),
    lr: z.number().positive().default(1e-3),
    /** Epochs (with `tol` > 0: the most epochs; training stops earlier once converged). */
    epochs: z.number().int().min(1).default(3),
    batch: z.number().int().min(1).default(16),
    /**
     * Convergence criterion (0 = a fixed schedule of `epochs` with cosine decay): train at a constant
     * learning rate (after warmup) until an epoch's mean loss is within `tol` nats of the loss's
     * floor — 0 for the sigmoid loss, the label-smoothing entropy H(ε) for cdpo, the value every pair
     * at its optimal margin attains — or `epochs` epochs have run.
     */
    tol: z.number().min(0).default(0),
  })
  .strict();

const labelsSchema = z
  .object({
    /**
     * Oracle labels of π0 pairs that train the online methods' first reward model. 0 = fair
     * accounting: online iteration 1 labels a random pair of π0 samples (the offline
     * distribution) and every label a method pays for also trains its policy.
     */
    rmSeed: z.number().int().min(0).default(128),
    /** Prompts (= at most that many oracle labels) per online iteration, m. */
    perIteration: z.number().int().min(1).default(128),
  })
  .strict();

const methodBase = {
  enabled: z.boolean().default(true),
  /** Run this method on seeds 0..seeds−1 only (default: every seed). */
  seeds: z.number().int().min(1).optional(),
};

/** The linear BT reward model on word-count features (src/pref/linear-rm.ts). */
const linearRmSchema = z
  .object({
    /** Vocabulary: words occurring at least this often in the SFT corpus's responses (+1 OOV counter). */
    minCount: z.number().int().min(1).default(20),
    /** Ridge λ of the BT-MLE and of Σ = λI + Σ ΔφΔφᵀ. */
    lambda: z.number().positive().default(1),
  })
  .strict();

const methodsSchema = z
  .object({
    offlineDpo: z
      .object({ ...methodBase })
      .strict()
      .prefault({}),
    rso: z
      .object({
        ...methodBase,
        /** π0 candidates per prompt; accepted ones are paired (0,1), (2,3), … and labelled by the RM. */
        candidates: z.number().int().min(2).default(8),
        /** Offline prompts used (the first this many; default all B). Pairs cost no labels, only compute. */
        prompts: z.number().int().min(1).optional(),
        maxAccepted: z.number().int().min(2).default(4),
        /**
         * 'sequential' (the RSO paper's sampler: rounds over the remaining candidates, each accepted
         * with exp((r − max r)/η) against the remaining maximum, until maxAccepted are in — always
         * maxAccepted per prompt) or 'single' (one pass: on average far fewer).
         */
        sampler: z.enum(['sequential', 'single']).default('sequential'),
        /** The reward model that ranks: the linear BT-MLE on the B pool labels, or the neural ensemble. */
        ranker: z.enum(['linear', 'neural']).default('linear'),
      })
      .strict()
      .prefault({}),
    multiStepRso: z
      .object({
        ...methodBase,
        /** Decreasing η₁ > … > η_N; the last is replaced by dpo.eta (and scaled with it on the frontier). */
        etas: z.array(z.number().positive()).min(2).default([1, 0.3, 0.1]),
        candidates: z.number().int().min(2).default(8),
        maxAccepted: z.number().int().min(2).default(4),
        /** Prompts per stage (stage i uses the i-th block of this many offline prompts; default all B). */
        prompts: z.number().int().min(1).optional(),
        sampler: z.enum(['sequential', 'single']).default('sequential'),
        ranker: z.enum(['linear', 'neural']).default('linear'),
      })
      .strict()
      .prefault({}),
    iterative: z
      .object({
        ...methodBase,
        /** Online iterations T. */
        iterations: z.number().int().min(1).default(3),
        /** Responses per prompt n (best-of-n vs worst-of-n under the current RM). */
        n: z.number().int().min(2).default(8),
        /** Which schedules to run: warm = RLHF Workflow (init π_{t−1}, new batch only); retrain = ICML (init π0, all data). */
        schedules: z
          .array(z.enum(['warm', 'retrain']))
          .min(1)
          .default(['warm', 'retrain']),
        /** Who labels the selected pair: the gold BT oracle (costs a label) or the current RM (free; RM trained on the whole budget). */
        labelSource: z.enum(['oracle', 'reward-model']).default('oracle'),
        /** Refit the RM ensemble on all oracle labels after every iteration (the MLE on all data so far). */
        refitRm: z.boolean().default(true),
        /**
         * Model selection on the validation prompts (never the gold reward, never a label): 'rm' = the
         * iterate with the highest mean RM reward; 'rm-kl' = the highest RM objective r_RM − η·KL(π‖π0).
         */
        selection: z.enum(['rm', 'rm-kl']).default('rm'),
        /** Epochs of that refit; each member is warm-started from the previous iteration's member. */
        refitEpochs: z.number().int().min(1).default(1),
        /**
         * Reward models of the online loop: 'neural' = the scalar-head GPT ensemble, 'linear' = the
         * linear BT-MLE on word counts. The first drives the main variants; each further one adds
         * variants with the suffix "-<kind>" (run on `secondarySeeds` seeds).
         */
        rewardModels: z
          .array(z.enum(['neural', 'linear']))
          .min(1)
          .default(['neural']),
        secondarySeeds: z.number().int().min(1).optional(),
        /** Seeds of the 'retrain' schedule when it is not the first (default: `seeds`). */
        retrainSeeds: z.number().int().min(1).optional(),
      })
      .strict()
      .prefault({}),
    uncertainty: z
      .object({ ...methodBase, schedule: z.enum(['warm', 'retrain']).default('warm') })
      .strict()
      .prefault({}),
    /**
     * Hybrid GSHF: `offline` oracle-labelled π0 pairs of the pool (DPO from π0 on them = iterate 0,
     * and the first reward model), then `iterations` online iterations of (B − offline)/iterations
     * labels each (with labels.rmSeed > 0: the RM seed pairs are the offline data, T iterations of m).
     */
    hybrid: z
      .object({
        ...methodBase,
        schedule: z.enum(['warm', 'retrain']).default('warm'),
        offline: z.number().int().min(1).optional(),
        iterations: z.number().int().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * The papers' label accounting: a proxy reward model (linear, fitted on `labels` oracle labels of
     * π0 pairs, not charged to either arm) labels both offline DPO's pool pairs and the online
     * loop's best-vs-worst pairs.
     */
    proxy: z
      .object({
        ...methodBase,
        enabled: z.boolean().default(false),
        labels: z.number().int().min(2).default(4096),
      })
      .strict()
      .prefault({}),
    /**
     * Offline GSHF with pessimism: DPO on the pool with the margin β·(Γ(a_w) − Γ(a_l)) inside the
     * link, Γ(a) = ‖φ(a) − ν‖_{Σ⁻¹} from the linear model fitted on the pool (ν = mean φ of the pool).
     */
    pessimisticDpo: z
      .object({
        ...methodBase,
        enabled: z.boolean().default(false),
        beta: z.number().min(0).default(1),
        /** Further β values (the sweep), each its own arm "offline-dpo-pessimistic-b<β>". */
        betas: z.array(z.number().min(0)).default([]),
        /**
         * Γ per response ('sequence': ‖φ(a) − ν‖ in Σ⁻¹ of the word counts, grows with length) or
         * per token ('token': the same norm of the word-count vector divided by the response's
         * word count, so a longer response is not penalised for its length).
         */
        gamma: z.enum(['sequence', 'token']).default('sequence'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const evalSchema = z
  .object({
    /** Policy samples per test prompt (gold reward, KL, win rate, length, distinct-n). */
    samplesPerPrompt: z.number().int().min(1).default(4),
    /** Samples per validation prompt for model selection (scored by the RM, no labels). */
    validationSamples: z.number().int().min(1).default(2),
  })
  .strict();

const frontierSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Target η values (dpo.eta is the main run's point and is reused, not rerun). */
    etas: z.array(z.number().positive()).min(1).default([0.03, 0.3, 1]),
    /** Seeds 0..seeds−1 only (fewer than the main table to fit the time budget). */
    seeds: z.number().int().min(1).default(1),
    /** KL values at which the matched-KL verdicts compare the frontiers (default: the smaller of the two methods' mean KL at the main η). */
    matchKl: z.array(z.number().positive()).optional(),
    /** RSO is cheap: its η sweep (and the multi-step RSO stage path it is compared with) uses seeds 0..rsoSeeds−1. Default: `seeds`. */
    rsoSeeds: z.number().int().min(1).optional(),
    /**
     * Methods rerun at each η. Multi-step RSO needs no rerun: its stage i IS multi-step RSO with target
     * η_i (schedule η_1..η_i), so its curve is the main run's stage path.
     */
    methods: z
      .array(z.enum(['offline-dpo', 'rso', 'multi-step-rso', 'iterative-dpo-warm']))
      .min(1)
      .default(['offline-dpo', 'rso', 'iterative-dpo-warm']),
  })
  .strict();

export const pipelineConfigSchema = z
  .object({
    name: z.string().default('lm-reproduce'),
    /** Preference seeds (data, oracle noise, RM, DPO shuffles); π0 is shared. */
    seeds: z.number().int().min(1).max(100).default(3),
    /**
     * Child processes running preference seeds in parallel (one BLAS thread each); the numbers do not
     * depend on it (src/pref/seed-workers.ts).
     */
    workers: z.number().int().min(1).max(8).default(1),
    /** Master seed mixed into every stage's randomness. */
    seed: z.number().int().default(1),
    model: modelSpecSchema.prefault({}),
    /**
     * π0's tokenizer: 'byte' (UTF-8 bytes), or 'bpe' = a byte-level BPE with `vocabSize` entries
     * trained on the SFT corpus at the start of the run (src/nn/bpe-train.ts): words become tokens.
     */
    tokenizer: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('byte') }).strict(),
        z
          .object({ type: z.literal('bpe'), vocabSize: z.number().int().min(259).max(65536).default(512) })
          .strict(),
      ])
      .default({ type: 'byte' }),
    sft: sftSchema.prefault({}),
    prompts: promptsSchema.prefault({}),
    oracle: z
      .object({ temperature: z.number().min(0).default(1) })
      .strict()
      .prefault({}),
    sampling: samplingSchema.prefault({}),
    labels: labelsSchema.prefault({}),
    rm: rmSchema.prefault({}),
    dpo: dpoSchema.prefault({}),
    methods: methodsSchema.prefault({}),
    eval: evalSchema.prefault({}),
    linearRm: linearRmSchema.prefault({}),
    /**
     * Verdict rules: a paired difference whose 95% interval lies inside ±equivalenceMargin (r*
     * units) is "equivalent"; non-inferiority claims hold when the interval's lower end is above
     * −equivalenceMargin.
     */
    verdicts: z
      .object({ equivalenceMargin: z.number().positive().default(0.15) })
      .strict()
      .prefault({}),
    frontier: frontierSchema.prefault({}),
    /**
     * Claim notes written after looking at the numbers (ids: see src/pref/claims.ts CLAIMS): plain
     * text, or { text, fingerprint } pinned to the numbers they were written beside (the report prints
     * each verdict's fingerprint and marks a pinned note stale when its numbers changed).
     */
    claimNotes: z
      .record(
        z.string(),
        z.union([z.string(), z.object({ text: z.string().min(1), fingerprint: z.string().min(1) }).strict()]),
      )
      .default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const etas = cfg.methods.multiStepRso.etas;
    for (let i = 1; i < etas.length; i++) {
      if (!(etas[i] < etas[i - 1]))
        ctx.addIssue({
          code: 'custom',
          path: ['methods', 'multiStepRso', 'etas', i],
          message: 'η schedule must be strictly decreasing',
        });
    }
    if (cfg.frontier.seeds > cfg.seeds)
      ctx.addIssue({
        code: 'custom',
        path: ['frontier', 'seeds'],
        message: `frontier.seeds (${cfg.frontier.seeds}) exceeds seeds (${cfg.seeds})`,
      });
    if (cfg.labels.rmSeed === 0 && cfg.methods.hybrid.enabled && cfg.methods.hybrid.offline === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['methods', 'hybrid', 'offline'],
        message:
          'under fair accounting (labels.rmSeed 0) the hybrid needs its offline share: set methods.hybrid.offline',
      });
    const h = cfg.methods.hybrid;
    if (cfg.labels.rmSeed === 0 && h.enabled && h.offline !== undefined) {
      const rest = labelBudget(cfg) - h.offline;
      const its = h.iterations ?? cfg.methods.iterative.iterations;
      if (rest <= 0 || rest % its !== 0)
        ctx.addIssue({
          code: 'custom',
          path: ['methods', 'hybrid', 'offline'],
          message: `the budget left after ${h.offline} offline labels (${rest}) must split evenly into ${its} iterations`,
        });
    }
    if ((cfg.frontier.rsoSeeds ?? 0) > cfg.seeds)
      ctx.addIssue({
        code: 'custom',
        path: ['frontier', 'rsoSeeds'],
        message: `frontier.rsoSeeds (${cfg.frontier.rsoSeeds}) exceeds seeds (${cfg.seeds})`,
      });
  });

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;

/** Seeds of the RSO η sweep (and of the multi-step RSO path it is compared with). */
export function rsoFrontierSeeds(cfg: PipelineConfig): number {
  return cfg.frontier.rsoSeeds ?? cfg.frontier.seeds;
}

/** The per-method, per-seed human-label budget B = rmSeed + T·m. */
export function labelBudget(cfg: PipelineConfig): number {
  return cfg.labels.rmSeed + cfg.methods.iterative.iterations * cfg.labels.perIteration;
}

/** The model config of π0 (preset + overrides). */
export function modelConfigOf(spec: ModelSpec): (typeof PRESETS)['default'] {
  const base = PRESETS[spec.preset];
  return {
    ...base,
    ...(spec.nLayer !== undefined ? { nLayer: spec.nLayer } : {}),
    ...(spec.nHead !== undefined ? { nHead: spec.nHead } : {}),
    ...(spec.nEmbd !== undefined ? { nEmbd: spec.nEmbd } : {}),
    ...(spec.blockSize !== undefined ? { blockSize: spec.blockSize } : {}),
  };
}
