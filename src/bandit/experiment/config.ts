/**
 * The experiment config for `gshf bandit run`: one environment, named algorithm instances, and
 * studies (each a grid of runs × label budgets × seeds, or an η-sweep for reward–KL frontiers).
 * Validated with zod; see examples/bandit/default.yaml for a commented example.
 */
import { z } from 'zod';
import { DIVERGENCE_NAMES, type DivergenceName } from '../divergences/registry.js';

const coverage = z.enum(['good', 'poor', 'adversarial', 'tempting', 'optimal']);

export const envSpecSchema = z.union([
  z
    .object({
      source: z.literal('generate'),
      d: z.number().int().min(1).max(4096),
      K: z.number().int().min(2).max(100000),
      nContexts: z.number().int().min(1).max(1_000_000),
      normB: z.number().positive(),
      refTemperature: z.number().positive().default(1),
      eta: z.number().positive(),
      seed: z.number().int().default(0),
    })
    .strict(),
  z.object({ source: z.literal('file'), path: z.string().min(1) }).strict(),
]);
export type EnvSpec = z.infer<typeof envSpecSchema>;

export const algorithmSpecSchema = z
  .object({
    /** Registered algorithm name, e.g. "gshf-online". */
    algorithm: z.string().min(1),
    /** Display label in tables and plots (defaults to the instance key). */
    label: z.string().optional(),
    options: z.record(z.string(), z.unknown()).default({}),
    /** Hybrid runs: fraction of the label budget spent on the offline set (rest online). */
    offlineFraction: z.number().min(0).max(1).optional(),
  })
  .strict();
export type AlgorithmSpec = z.infer<typeof algorithmSpecSchema>;

/**
 * A grid study's change to the generated environment (e.g. `{ d: 16 }` or `{ K: 128 }`), for
 * sweeps over the reward model's dimension or the number of actions; the other fields stay the
 * config's. Only for `source: generate`.
 */
export const envOverrideSchema = z
  .object({
    d: z.number().int().min(1).max(4096).optional(),
    K: z.number().int().min(2).max(100000).optional(),
    nContexts: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();
export type EnvOverride = z.infer<typeof envOverrideSchema>;

const gridStudySchema = z
  .object({
    kind: z.literal('grid').default('grid'),
    name: z.string().regex(/^[a-z0-9-]+$/, 'use lower-case letters, digits and dashes'),
    title: z.string(),
    /** Behaviour policy of the offline data (and of the hybrid's offline part). */
    coverage: z.union([coverage, z.array(coverage).min(1)]).default('good'),
    /** Total preference labels per run (offline pairs + online queries). */
    budgets: z.array(z.number().int().positive()).min(1),
    runs: z.array(z.string()).min(1),
    /** Plot axes: log-log gap vs labels is the default. */
    plot: z.enum(['gap-vs-labels', 'bars']).default('gap-vs-labels'),
    /** Change to the generated environment for this study only (sweeps over d or K). */
    env: envOverrideSchema.optional(),
    /** Seeds per cell for this study (default: the config's `seeds`). */
    seeds: z.number().int().min(1).max(1000).optional(),
    /**
     * Each seed index runs in its own generated environment (env seed + seed index), so results
     * average over environments rather than describe one draw (for sweeps over d or K).
     */
    varyEnv: z.boolean().optional(),
    /** A run of the study every other run is compared with (paired gap reduction table). */
    baseline: z.string().optional(),
  })
  .strict();

const frontierStudySchema = z
  .object({
    kind: z.literal('frontier'),
    name: z.string().regex(/^[a-z0-9-]+$/),
    title: z.string(),
    coverage: coverage.default('good'),
    budget: z.number().int().positive(),
    /** Target η values: each run is repeated with the environment's η replaced by these. */
    etas: z.array(z.number().positive()).min(2),
    runs: z.array(z.string()).min(1),
    /**
     * Also measure every policy's D_f(π‖π0) in these divergences (src/bandit/divergences; 'alpha'
     * is α = ½): the report then draws the frontier in each, and claims can compare on that axis.
     */
    divergences: z.array(z.enum(DIVERGENCE_NAMES as [DivergenceName, ...DivergenceName[]])).optional(),
  })
  .strict();

/** A registered lab study (experiment/lab-studies.ts): its own arms and metrics, one job per arm × seed. */
const labStudySchema = z
  .object({
    kind: z.literal('lab'),
    name: z.string().regex(/^[a-z0-9-]+$/, 'use lower-case letters, digits and dashes'),
    title: z.string(),
    /** Registered lab-study name, e.g. "ties". */
    study: z.string().min(1),
    /** The study's own options (validated by its schema before anything runs). */
    options: z.record(z.string(), z.unknown()).default({}),
    /** Seeds for this study (default: the experiment's `seeds`). */
    seeds: z.number().int().min(2).max(1000).optional(),
  })
  .strict();

export const studySchema = z.union([labStudySchema, frontierStudySchema, gridStudySchema]);
export type LabStudySpec = z.infer<typeof labStudySchema>;
export type StudySpec = z.infer<typeof studySchema>;
export type GridStudy = z.infer<typeof gridStudySchema>;
export type FrontierStudy = z.infer<typeof frontierStudySchema>;

const study = { study: z.string() };
const claimBase = {
  /** The claim in words, as the paper states it. */
  text: z.string(),
  /** Where the paper (or its digest) makes it, with the digest's trust tag. */
  source: z.string().default(''),
  /** Our reading of the result, printed beside the verdict (written after looking at the numbers). */
  note: z.string().optional(),
  /**
   * Equivalence margin of the verdict, in the units of the compared quantity (gap, reward, slope):
   * a paired interval inside ±margin is "equivalent". 0 (the default) = no equivalence band.
   */
  margin: z.number().min(0).optional(),
};

/** How a paired difference is judged (src/math/verdicts.ts). */
const rule = z.enum(['superiority', 'non-inferiority', 'equivalence']);

export const claimSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('lower-gap'),
      ...claimBase,
      ...study,
      coverage: coverage.optional(),
      /** Label budget to compare at (default: the study's largest). */
      budget: z.number().int().positive().optional(),
      better: z.string(),
      than: z.string(),
      rule: rule.default('superiority'),
      /** Compare gaps ('gap', the default) or log-gaps ('log': the margin is a log-ratio). */
      scale: z.enum(['gap', 'log']).default('gap'),
    })
    .strict(),
  z
    .object({
      /**
       * Rates and levels between two runs: per seed, the least-squares line of log(gap) against
       * log(labels) over the study's budgets; `quantity` 'slope' compares the rate exponents,
       * 'level' the fitted log-gap at the geometric mean of the budgets. The difference
       * (than − better) is positive when `better` falls faster / sits lower.
       */
      kind: z.literal('fit'),
      ...claimBase,
      ...study,
      coverage: coverage.optional(),
      better: z.string(),
      than: z.string(),
      quantity: z.enum(['slope', 'level']),
      rule: rule.default('superiority'),
    })
    .strict(),
  z
    .object({
      /**
       * How one run's gap at one budget changes across studies that differ in one environment
       * parameter (`param`, set by each study's `env`): the per-seed slope of log(gap) against
       * log(param); 'grows' = superiority of the slope over 0, 'flat' = equivalence within ±margin.
       */
      kind: z.literal('sweep'),
      ...claimBase,
      /** The swept studies, each with its own `env` value of `param`. */
      studies: z.array(z.string()).min(2),
      param: z.enum(['d', 'K']),
      run: z.string(),
      budget: z.number().int().positive(),
      coverage: coverage.optional(),
      expect: z.enum(['grows', 'flat']),
    })
    .strict(),
  z
    .object({
      kind: z.literal('slope'),
      ...claimBase,
      ...study,
      coverage: coverage.optional(),
      run: z.string(),
      /** The claim holds if the log-log slope of gap vs labels is ≤ max (and ≥ min if given). */
      max: z.number(),
      min: z.number().optional(),
    })
    .strict(),
  z
    .object({
      /** A lab study's metric compared between two of its arms, paired by seed. */
      kind: z.literal('lab'),
      ...claimBase,
      ...study,
      metric: z.string(),
      better: z.string(),
      than: z.string(),
      rule: z.enum(['superiority', 'non-inferiority', 'equivalence']).default('superiority'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('frontier-dominates'),
      ...claimBase,
      ...study,
      better: z.string(),
      than: z.string(),
      /** The frontier's x axis: 'kl' = KL(π‖π0) (default) or one of the study's `divergences`. */
      axis: z.string().default('kl'),
    })
    .strict(),
]);
export type ClaimSpec = z.infer<typeof claimSchema>;

export const experimentConfigSchema = z
  .object({
    name: z.string().default('bandit'),
    /** Master seed: every job's randomness is derived from it and the job's identity. */
    seed: z.number().int().default(1),
    /** Independent repetitions (data + algorithm randomness) per grid cell. */
    seeds: z.number().int().min(1).max(1000).default(5),
    /** Worker threads (default: number of CPU cores). */
    workers: z.number().int().min(1).max(64).optional(),
    env: envSpecSchema,
    /** BT oracle temperature (1 = the Bradley–Terry model of the paper). */
    oracleTemperature: z.number().positive().default(1),
    algorithms: z.record(z.string().regex(/^[a-z0-9-]+$/), algorithmSpecSchema),
    studies: z.array(studySchema).min(1),
    /** The paper's claims, each checked against the measured numbers in the report. */
    claims: z.array(claimSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const studies = new Map(cfg.studies.map((s) => [s.name, s]));
    cfg.claims.forEach((c, i) => {
      const named =
        c.kind === 'sweep'
          ? c.studies.map((n, j) => [n, ['studies', j]] as const)
          : [[c.study, ['study']] as const];
      const unknown = named.filter(([n]) => !studies.has(n));
      for (const [n, path] of unknown)
        ctx.addIssue({ code: 'custom', path: ['claims', i, ...path], message: `unknown study "${n}"` });
      if (unknown.length) return;
      const st = studies.get(named[0][0]);
      if (c.kind === 'lab' || st?.kind === 'lab') return; // arms are checked against the registry (checkLabStudies)
      const equivalence =
        ((c.kind === 'lower-gap' || c.kind === 'fit') && c.rule === 'equivalence') ||
        (c.kind === 'sweep' && c.expect === 'flat');
      if (equivalence && !c.margin)
        ctx.addIssue({
          code: 'custom',
          path: ['claims', i, 'margin'],
          message: 'an equivalence claim needs a margin > 0',
        });
      const runs =
        c.kind === 'slope' || c.kind === 'sweep'
          ? [['run', c.run]]
          : [
              ['better', c.better],
              ['than', c.than],
            ];
      if (c.kind === 'frontier-dominates' && c.axis !== 'kl') {
        const st = studies.get(c.study);
        const axes = st?.kind === 'frontier' ? (st.divergences ?? []) : [];
        if (!(axes as string[]).includes(c.axis))
          ctx.addIssue({
            code: 'custom',
            path: ['claims', i, 'axis'],
            message: `axis "${c.axis}" is not measured by study "${c.study}" (use 'kl' or one of its divergences: ${axes.join(', ') || 'none'})`,
          });
      }
      for (const [name] of named) {
        const st = studies.get(name);
        for (const [field, r] of runs)
          if (st && st.kind !== 'lab' && !st.runs.includes(r))
            ctx.addIssue({
              code: 'custom',
              path: ['claims', i, field],
              message: `run "${r}" is not in study "${name}"`,
            });
      }
    });
    cfg.studies.forEach((s, i) => {
      if (s.kind === 'lab') return;
      if (s.kind !== 'frontier' && s.baseline !== undefined && !s.runs.includes(s.baseline))
        ctx.addIssue({
          code: 'custom',
          path: ['studies', i, 'baseline'],
          message: `baseline "${s.baseline}" is not one of the study's runs`,
        });
      s.runs.forEach((r, j) => {
        if (!(r in cfg.algorithms)) {
          ctx.addIssue({
            code: 'custom',
            path: ['studies', i, 'runs', j],
            message: `unknown run "${r}" (defined: ${Object.keys(cfg.algorithms).join(', ')})`,
          });
        }
      });
    });
  });
export type ExperimentConfig = z.infer<typeof experimentConfigSchema>;
