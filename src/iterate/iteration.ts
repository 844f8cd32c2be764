/**
 * One iteration of online iterative GSHF (RLHF Workflow Algorithm 2), shared by the miniature
 * (`gshf lm reproduce`) and the user-facing loop (`gshf loop`):
 *
 *   sample   n responses per prompt from π_{t−1} (the backend);
 *   select   one pair per prompt with an enhancer under the current reward model (RM_{t−1});
 *   label    the pairs through the ledger (paid once; replayed free), never beyond the label budget;
 *   train    π_t by DPO with the reference fixed to π0: warm start from π_{t−1} on D_t, or retrain
 *            from π0 on D_1 ∪ … ∪ D_t;
 *   refit    the reward model on every label so far;
 *   evaluate π_t.
 *
 * Everything is a parameter: the policy backend, the reward model's scores, the pair selector (the
 * enhancer), the label ledger, the budget, the refit and the evaluation. Each step's output can be
 * memoised through a `StepStore` (the loop writes them atomically in the iteration's folder, so a
 * run killed between steps resumes without resampling; the miniature runs the whole iteration as
 * one stage and passes `memoryStore`). It lives in src/iterate, below both src/pref and src/loop, and
 * imports only this folder's interfaces.
 */
import type { AsyncLabelSource, LabelAnswer, LabelQuery, Verdict } from './labels.js';
import type { PolicyBackend, PolicyRef, PolicySample, TrainPair, TrainResult } from './policy.js';

export type Schedule = 'warm' | 'retrain';

/** Reward-model scores of one prompt's n samples: the mean and, for an ensemble, each member's. */
export interface RowScores {
  mean: readonly number[];
  members?: readonly (readonly number[])[];
  /** Uncertainty of r(i) − r(j) where the RM has one (a linear RM: ‖φ_i − φ_j‖ in Σ⁻¹). */
  uncertainty?: (i: number, j: number) => number;
}

/** The reward model as the iteration sees it: scores for every sample of every prompt. */
export interface RewardScorer<S extends PolicySample = PolicySample> {
  score(prompts: readonly string[], samples: readonly (readonly S[])[]): Promise<RowScores[]>;
}

/** The pair the enhancer picked: indices into the prompt's samples; `a` is the RM's favourite. */
export interface SelectedPair {
  a: number;
  b: number;
  /** Higher = label first when the budget cannot cover every pair (e.g. the pair's uncertainty). */
  priority?: number;
}

/** An enhancer: picks one pair among a prompt's samples (or null: nothing worth asking). */
export type PairSelector = (texts: readonly string[], scores: RowScores, key: string) => SelectedPair | null;

/** A label ledger as the iteration sees it: a paid source that knows which ids it already holds. */
export interface LedgerView extends AsyncLabelSource {
  has(id: string): boolean;
}

/** The label budget: `used()` counts every label paid so far that counts against `limit`. */
export interface LabelBudget {
  limit: number;
  used(): number;
}

/** Memoises named steps (atomically on disk in the loop, in memory in the miniature). */
export interface StepStore {
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export const memoryStore: StepStore = { step: (_name, fn) => fn() };

export type Numbers = Record<string, number | string | null>;

export interface IterationInput<S extends PolicySample = PolicySample> {
  /** 1-based. */
  iteration: number;
  prompts: readonly string[];
  /** Stable id per prompt (default `p${i}`); a label's id is `${idPrefix}/${promptId}`. */
  promptIds?: readonly string[];
  idPrefix: string;
  /** Responses per prompt. */
  n: number;
  /** Seed key of this iteration (sampling uses `${seed}/sample`, training `${seed}/dpo`). */
  seed: string;
  schedule: Schedule;
  /** π_{t−1}, the behaviour policy (π0 at t = 1). */
  policy: PolicyRef;
  /** Labelled pairs before this iteration (D_1 … D_{t−1}, plus offline data for a hybrid start). */
  history: readonly TrainPair<S>[];
  /** Folder for this iteration's training outputs (the backend writes its policy there). */
  out: string;
}

export interface IterationDeps<S extends PolicySample = PolicySample> {
  backend: PolicyBackend<S>;
  /** RM_{t−1}, scoring the samples for the enhancer. */
  rewardModel: RewardScorer<S>;
  select: PairSelector;
  ledger: LedgerView;
  budget?: LabelBudget;
  /** Refits the reward model on every labelled pair so far; returns numbers for the report. */
  refit?: (pairs: readonly TrainPair<S>[], iteration: number) => Promise<Numbers>;
  /** Evaluates π_t (RM reward, KL to π0, length, gold where known). */
  evaluate?: (policy: PolicyRef, iteration: number) => Promise<Numbers>;
  store?: StepStore;
  signal?: AbortSignal;
  /** Wall-clock seconds of each step, as it finishes (timing stays out of the results). */
  onStep?: (step: IterationStep, seconds: number) => void;
}

export type IterationStep = 'sample' | 'select' | 'label' | 'train' | 'refit' | 'evaluate';

export interface SelectionCounts {
  prompts: number;
  /** Prompts where the enhancer found no pair (all scores or texts equal). */
  noPair: number;
  /** Pairs sent to the ledger (already-paid ones included). */
  asked: number;
  /** Pairs left unasked because the budget ran out. */
  overBudget: number;
  /** Answers 'a' or 'b' (the pairs trained on). */
  labelled: number;
  ties: number;
  bothBad: number;
  /** Asked but not answered (a human deadline, a refusal). */
  unanswered: number;
  /**
   * Labels this iteration's pairs cost: asked queries the ledger holds after labelling (paid in this
   * session or, before a crash, in an earlier one; each id is paid once). Answers given without a
   * ledger record (an unpaid source) do not count.
   */
  paid: number;
}

export interface IterationResult<S extends PolicySample = PolicySample> {
  iteration: number;
  /** π_t. */
  policy: PolicyRef;
  /** D_t, the pairs labelled in this iteration (chosen first). */
  pairs: TrainPair<S>[];
  selection: SelectionCounts;
  /** True when the budget could not cover every selected pair: the loop stops after this iteration. */
  budgetReached: boolean;
  /** Mean RM_{t−1} reward of the samples, and of the best of n (per prompt, averaged). */
  rmSampleMean: number;
  rmBestOfN: number;
  /** Training summary (null when there was nothing to train on and π_t = π_{t−1}). */
  train: Numbers | null;
  refit: Numbers | null;
  eval: Numbers | null;
}

interface Selected<S> {
  queries: LabelQuery[];
  /** Per query: the two samples, in query order. */
  samples: [S, S][];
  noPair: number;
  rmSampleMean: number;
  rmBestOfN: number;
}

/** Runs one iteration. Deterministic in its inputs; labels cost only when the ledger lacks their id. */
export async function runIteration<S extends PolicySample>(
  input: IterationInput<S>,
  deps: IterationDeps<S>,
): Promise<IterationResult<S>> {
  const store = deps.store ?? memoryStore;
  const timed = async <T>(step: IterationStep, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await store.step(step, fn);
    deps.onStep?.(step, (performance.now() - t0) / 1000);
    return out;
  };
  const { prompts } = input;
  const promptIds = input.promptIds ?? prompts.map((_, i) => `p${i}`);
  if (promptIds.length !== prompts.length)
    throw new RangeError(`${prompts.length} prompts but ${promptIds.length} prompt ids`);

  // --- sample: n responses per prompt from π_{t−1}
  const samples = await timed('sample', () =>
    deps.backend.sample(input.policy, prompts, input.n, `${input.seed}/sample`),
  );
  checkSamples(samples, prompts.length, input.n, deps.backend.name);

  // --- select: one pair per prompt under RM_{t−1}
  const sel = await timed('select', async () => selectPairs(input, deps, samples, promptIds));

  // --- label: through the ledger, never beyond the budget
  const t0 = performance.now();
  const { asked, overBudget } = withinBudget(sel.queries, deps.ledger, deps.budget);
  const answers = asked.length > 0 ? await deps.ledger.label(asked, { signal: deps.signal }) : [];
  deps.onStep?.('label', (performance.now() - t0) / 1000);
  const { pairs, counts } = pairsFromAnswers(sel, asked, answers);
  const selection: SelectionCounts = {
    prompts: prompts.length,
    noPair: sel.noPair,
    asked: asked.length,
    overBudget,
    ...counts,
    paid: asked.filter((q) => deps.ledger.has(q.id)).length,
  };

  // --- train: π_t by DPO, reference π0 (warm: from π_{t−1} on D_t; retrain: from π0 on all data)
  const data = input.schedule === 'warm' ? pairs : [...input.history, ...pairs];
  const init = input.schedule === 'warm' ? input.policy : deps.backend.initial;
  const trained: TrainResult | null =
    data.length === 0
      ? null
      : await timed('train', () =>
          deps.backend.train({
            iteration: input.iteration,
            init,
            ref: deps.backend.initial,
            pairs: data,
            out: input.out,
            seed: `${input.seed}/dpo`,
          }),
        );
  const policy = trained ? trained.policy : init;

  // --- refit the reward model on every label so far; evaluate π_t
  const all = [...input.history, ...pairs];
  const refit = deps.refit ? await timed('refit', () => deps.refit!(all, input.iteration)) : null;
  const evaluation = deps.evaluate
    ? await timed('evaluate', () => deps.evaluate!(policy, input.iteration))
    : null;

  return {
    iteration: input.iteration,
    policy,
    pairs,
    selection,
    budgetReached: overBudget > 0,
    rmSampleMean: sel.rmSampleMean,
    rmBestOfN: sel.rmBestOfN,
    train: trained ? trained.summary : null,
    refit,
    eval: evaluation,
  };
}

function checkSamples<S>(samples: readonly (readonly S[])[], prompts: number, n: number, who: string): void {
  if (samples.length !== prompts)
    throw new Error(`${who}: returned samples for ${samples.length} prompts, expected ${prompts}`);
  samples.forEach((row, i) => {
    if (row.length !== n) throw new Error(`${who}: prompt ${i} has ${row.length} samples, expected ${n}`);
  });
}

async function selectPairs<S extends PolicySample>(
  input: IterationInput<S>,
  deps: IterationDeps<S>,
  samples: readonly (readonly S[])[],
  promptIds: readonly string[],
): Promise<Selected<S>> {
  const scores = await deps.rewardModel.score(input.prompts, samples);
  if (scores.length !== samples.length)
    throw new Error(`reward model scored ${scores.length} prompts, expected ${samples.length}`);
  const out: Selected<S> = { queries: [], samples: [], noPair: 0, rmSampleMean: 0, rmBestOfN: 0 };
  samples.forEach((row, i) => {
    const sc = scores[i];
    out.rmSampleMean += sc.mean.reduce((a, b) => a + b, 0) / Math.max(1, sc.mean.length);
    out.rmBestOfN += Math.max(...sc.mean);
    const id = `${input.idPrefix}/${promptIds[i]}`;
    const pick = deps.select(
      row.map((s) => s.text),
      sc,
      id,
    );
    if (!pick || pick.a === pick.b) {
      out.noPair++;
      return;
    }
    const a = row[pick.a];
    const b = row[pick.b];
    const q: LabelQuery = { id, prompt: input.prompts[i], a: a.text, b: b.text };
    if (pick.priority !== undefined) q.priority = pick.priority;
    q.margin = sc.mean[pick.a] - sc.mean[pick.b];
    const u = pairUncertainty(sc, pick.a, pick.b);
    if (u !== undefined) q.uncertainty = u;
    out.queries.push(q);
    out.samples.push([a, b]);
  });
  out.rmSampleMean /= Math.max(1, samples.length);
  out.rmBestOfN /= Math.max(1, samples.length);
  return out;
}

/**
 * The queries to send: every one the ledger already holds (free), and of the rest as many as the
 * budget allows, highest priority first (ties: query order). The result keeps query order, so a
 * resumed iteration asks exactly the same set.
 */
export function withinBudget(
  queries: readonly LabelQuery[],
  ledger: { has(id: string): boolean },
  budget?: LabelBudget,
): { asked: LabelQuery[]; overBudget: number } {
  if (!budget) return { asked: [...queries], overBudget: 0 };
  const fresh = queries.map((q, i) => ({ q, i })).filter((x) => !ledger.has(x.q.id));
  const remaining = Math.max(0, budget.limit - budget.used());
  if (fresh.length <= remaining) return { asked: [...queries], overBudget: 0 };
  const keep = new Set(
    [...fresh]
      .sort((x, y) => (y.q.priority ?? 0) - (x.q.priority ?? 0) || x.i - y.i)
      .slice(0, remaining)
      .map((x) => x.i),
  );
  const asked = queries.filter((q, i) => ledger.has(q.id) || keep.has(i));
  return { asked, overBudget: fresh.length - remaining };
}

function pairsFromAnswers<S extends PolicySample>(
  sel: Selected<S>,
  asked: readonly LabelQuery[],
  answers: readonly LabelAnswer[],
): { pairs: TrainPair<S>[]; counts: Pick<SelectionCounts, 'labelled' | 'ties' | 'bothBad' | 'unanswered'> } {
  const byId = new Map<string, Verdict>();
  for (const a of answers) byId.set(a.id, a.verdict);
  const index = new Map(sel.queries.map((q, i) => [q.id, i]));
  const pairs: TrainPair<S>[] = [];
  const counts = { labelled: 0, ties: 0, bothBad: 0, unanswered: 0 };
  for (const q of asked) {
    const v = byId.get(q.id);
    const [a, b] = sel.samples[index.get(q.id)!];
    if (v === undefined) counts.unanswered++;
    else if (v === 'tie') counts.ties++;
    else if (v === 'both-bad') counts.bothBad++;
    else {
      counts.labelled++;
      pairs.push(
        v === 'a'
          ? { id: q.id, prompt: q.prompt, chosen: a, rejected: b }
          : { id: q.id, prompt: q.prompt, chosen: b, rejected: a },
      );
    }
  }
  return { pairs, counts };
}

/**
 * A synchronous "prefer a?" labeller (the miniature's `LabelLedger.compare`, a reward model) as a
 * LedgerView. `has` says whether an id is already paid for (so the budget does not count it).
 */
export function syncLedgerView(
  name: string,
  compare: (prompt: string, a: string, b: string, id: string) => boolean,
  has: (id: string) => boolean = () => false,
): LedgerView {
  return {
    name,
    has,
    label: async (queries) =>
      queries.map((q) => ({
        id: q.id,
        verdict: compare(q.prompt, q.a, q.b, q.id) ? ('a' as const) : ('b' as const),
        source: name,
      })),
  };
}

/** The RM's uncertainty about r(i) − r(j): its own (linear RM), else the ensemble's spread. */
function pairUncertainty(sc: RowScores, i: number, j: number): number | undefined {
  if (sc.uncertainty) return sc.uncertainty(i, j);
  const m = sc.members;
  if (!m || m.length < 2) return undefined;
  const d = m.map((r) => r[i] - r[j]);
  const mean = d.reduce((x, y) => x + y, 0) / d.length;
  return Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (d.length - 1));
}
