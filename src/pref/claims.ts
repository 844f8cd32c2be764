/**
 * The paper's claims about the LM miniature, each judged by a rule of ./verdicts.ts on paired
 * per-seed numbers (all methods of a seed share π0, the test prompts and the evaluation sampling
 * seed): superiority with an equivalence margin, non-inferiority, dominance along the reward–KL
 * frontier point by point, the difference at matched KL by per-seed interpolation, and trends.
 * An inconclusive verdict states how many seeds a decision would need.
 */
import { fmt } from '../report/markdown.js';
import type { PipelineConfig } from './pipeline-config.js';
import type { PolicyResult } from './methods/common.js';
import type { ReproduceResults } from './results.js';
import {
  dominanceByPoint,
  frontierSeeds,
  frontierSummary,
  label,
  M,
  matchedKlDiffs,
  meanOf,
  paired,
  pi0Gold,
  seedFrontier,
  ci,
  type Metric,
} from './report-data.js';
import {
  dominancePointwise,
  fingerprint,
  nonInferiority,
  noteStatus,
  superiority,
  trend,
  type Judgement,
  type NoteStatus,
  type Verdict,
} from '../math/verdicts.js';

export interface ClaimVerdict {
  id: string;
  text: string;
  source: string;
  /** Which label accounting the compared rows use. */
  accounting: string;
  verdict: Verdict;
  evidence: string;
  /** Fingerprint of the numbers behind the verdict (claim notes are pinned to it). */
  fingerprint: string;
  note?: string;
  noteStatus?: NoteStatus;
}

interface ClaimResult {
  verdict: Verdict;
  evidence: string;
  /** The numbers the verdict rests on (fingerprinted for claim notes). */
  numbers: number[];
}

type Fin = Map<string, PolicyResult[]>;

interface ClaimDef {
  id: string;
  text: string;
  source: string;
  accounting: string;
  check: (cfg: PipelineConfig, res: ReproduceResults, fin: Fin) => ClaimResult;
}

const NO_DATA = (why: string): ClaimResult => ({ verdict: 'no data', evidence: why, numbers: [] });

/** The sentence an inconclusive verdict carries: the seeds a decision would need and why they were not run. */
function undecided(j: Judgement): string {
  if (j.verdict !== 'inconclusive') return '';
  const n = j.seedsToDecide ?? Infinity;
  return (
    ` Undecided: the same mean and spread would need ${Number.isFinite(n) ? `about ${n}` : 'unboundedly many'} seeds to decide; ` +
    `not spent: this arm's ${j.n} seeds are what fits the run's 10-minute budget on 2 cores`
  );
}

function pairedText(j: Judgement): string {
  return j.n < 2
    ? `${j.n} paired seed(s)`
    : `paired difference ${fmt(j.mean)} (95% CI ${fmt(j.lo)} to ${fmt(j.hi)}, n=${j.n})`;
}

/** "a beats b" (superiority) or "a at least as good as b" (non-inferiority) on a metric of the reported rows. */
function compareRows(
  a: string,
  b: string,
  rule: 'superiority' | 'non-inferiority',
  pick: (r: PolicyResult) => PolicyResult | undefined = (r) => r,
  what = 'gold reward',
) {
  return (cfg: PipelineConfig, _res: ReproduceResults, fin: Fin): ClaimResult => {
    const A = (fin.get(a) ?? []).map(pick).filter((r): r is PolicyResult => r !== undefined);
    const B = (fin.get(b) ?? []).map(pick).filter((r): r is PolicyResult => r !== undefined);
    if (!A.length || !B.length) return NO_DATA(`${!A.length ? label(a) : label(b)} not run`);
    const margin = cfg.verdicts.equivalenceMargin;
    const diffs = paired(A, B, M.gold);
    const j = rule === 'superiority' ? superiority(diffs, margin) : nonInferiority(diffs, margin);
    const [klA, klB] = [meanOf(A, M.kl), meanOf(B, M.kl)];
    return {
      verdict: j.verdict,
      numbers: [j.mean, j.lo, j.hi, j.n, klA, klB],
      evidence:
        `${what} ${label(a)} ${ci(A, M.gold)} vs ${label(b)} ${ci(B, M.gold)}; ${pairedText(j)}` +
        (rule === 'non-inferiority' ? ` (non-inferiority margin −${margin})` : '') +
        `. KL(π‖π0) ${fmt(klA)} vs ${fmt(klB)}; length ${fmt(meanOf(A, M.len))} vs ${fmt(meanOf(B, M.len))} tokens; ` +
        `labels ${fmt(meanOf(A, M.labels), 4)} vs ${fmt(meanOf(B, M.labels), 4)}.` +
        undecided(j),
    };
  };
}

const goldOf = (rule: 'superiority' | 'non-inferiority', a: string, b: string) => compareRows(a, b, rule);

/** The same comparison on the out-of-distribution prompts. */
const oodRow = (r: PolicyResult): PolicyResult | undefined =>
  r.oodEval ? { ...r, eval: r.oodEval } : undefined;

/** Frontier dominance of a over b, per seed point by point (both anchored at that seed's π0). */
function frontierDominance(a: string, b: string) {
  return (cfg: PipelineConfig, res: ReproduceResults): ClaimResult => {
    const perPoint: number[][] = [];
    const seeds = Math.min(frontierSeeds(cfg, a), frontierSeeds(cfg, b));
    for (let s = 0; s < seeds; s++) {
      const A = seedFrontier(cfg, res, a, s);
      const B = seedFrontier(cfg, res, b, s);
      const g0 = pi0Gold(res, s);
      if (!A.length || !B.length || g0 === undefined) continue;
      dominanceByPoint(A, B, { kl: 0, gold: g0 }).forEach((m, k) => {
        if (m !== null) (perPoint[k] ??= []).push(m);
      });
    }
    const margin = cfg.verdicts.equivalenceMargin;
    const d = dominancePointwise(perPoint, margin);
    if (d.verdict === 'no data')
      return NO_DATA(`the frontiers of ${label(a)} and ${label(b)} are not both run on ≥ 2 seeds`);
    const pts = (m: string): string =>
      frontierSummary(cfg, res, m)
        .map((p) => `η=${p.eta}: KL ${fmt(p.kl.mean)}, r* ${fmt(p.gold.mean)}`)
        .join('; ');
    // Undecided dominance: the seeds the least favourable undecided point would need.
    const open = perPoint
      .filter((p) => p.length >= 2)
      .map((p) => superiority(p, margin))
      .filter((j) => j.verdict !== 'supported');
    const worst = open.reduce<Judgement | undefined>(
      (w, j) => (w === undefined || (j.seedsToDecide ?? Infinity) > (w.seedsToDecide ?? Infinity) ? j : w),
      undefined,
    );
    const need =
      d.verdict === 'inconclusive' && worst ? undecided({ ...worst, verdict: 'inconclusive' }) : '';
    return {
      verdict: d.verdict,
      numbers: d.points.flatMap((p) => [p.mean, p.lo, p.hi, p.n]),
      evidence:
        `per-seed frontiers (KL order, from π0) compared at ${d.points.length} points: ${label(a)} significantly above at ${d.above}, below at ${d.below} ` +
        `(margins with 95% CI: ${d.points.map((p) => `${fmt(p.mean, 2)} [${fmt(p.lo, 2)}, ${fmt(p.hi, 2)}]`).join('; ')}; ${seeds} seeds). ` +
        `Means — ${label(a)}: ${pts(a)}. ${label(b)}: ${pts(b)}.` +
        need,
    };
  };
}

/**
 * Matched-KL values: the config's, or a KL every frontier seed's two curves reach — the smallest,
 * over seeds, of the lower of the two curves' largest KL (2 significant digits, rounded down) —
 * and half of it.
 */
function matchKls(cfg: PipelineConfig, res: ReproduceResults, a: string, b: string): number[] {
  if (cfg.frontier.matchKl?.length) return cfg.frontier.matchKl;
  const reach: number[] = [];
  for (let s = 0; s < Math.min(frontierSeeds(cfg, a), frontierSeeds(cfg, b)); s++) {
    const A = seedFrontier(cfg, res, a, s);
    const B = seedFrontier(cfg, res, b, s);
    if (A.length && B.length) reach.push(Math.min(A[A.length - 1].kl, B[B.length - 1].kl));
  }
  if (reach.length < 2 || !(Math.min(...reach) > 0)) return [];
  const k = Math.min(...reach);
  const p = 10 ** (Math.floor(Math.log10(k)) - 1);
  const top = Math.floor(k / p) * p;
  return [Number((top / 2).toPrecision(2)), Number(top.toPrecision(2))];
}

/** The difference a − b at matched KL, per seed by interpolation along each seed's frontiers. */
function matchedKl(a: string, b: string) {
  return (cfg: PipelineConfig, res: ReproduceResults, _fin: Fin): ClaimResult => {
    const margin = cfg.verdicts.equivalenceMargin;
    const parts = matchKls(cfg, res, a, b).map((kl) => ({ kl, ...matchedKlDiffs(cfg, res, a, b, kl) }));
    const judged = parts.map((p) => ({ ...p, j: superiority(p.diffs, margin) }));
    const usable = judged.filter((p) => p.j.verdict !== 'no data');
    if (!usable.length)
      return NO_DATA(
        `no KL at which both frontiers reach on ≥ 2 seeds (${judged.map((p) => `KL ${p.kl}: ${p.outOfRange} seeds out of range`).join('; ')})`,
      );
    const vs = new Set(usable.map((p) => p.j.verdict));
    const verdict: Verdict = vs.size === 1 ? usable[0].j.verdict : 'mixed';
    return {
      verdict,
      numbers: usable.flatMap((p) => [p.kl, p.j.mean, p.j.lo, p.j.hi, p.j.n]),
      evidence:
        usable
          .map(
            (p) =>
              `at KL ${p.kl}: ${label(a)} − ${label(b)} = ${fmt(p.j.mean)} (95% CI ${fmt(p.j.lo)} to ${fmt(p.j.hi)}, n=${p.j.n}${p.outOfRange ? `; ${p.outOfRange} seeds outside a frontier's KL range left out` : ''}) — ${p.j.verdict}${p.j.verdict === 'inconclusive' ? ` (about ${p.j.seedsToDecide ?? '∞'} seeds would decide)` : ''}`,
          )
          .join('; ') +
        `. Each seed's gold reward of both methods interpolated linearly at that KL along its frontier over η (joined in KL order from π0 at KL 0).` +
        (usable.length === 1 ? undecided(usable[0].j) : ''),
    };
  };
}

const FAIR = 'fair: both arms pay B oracle labels, all of which train the policy';
const HEADLINE = 'ICML §3.1: the GSHF-DPO methods "significantly surpass DPO and RSO" [SEC]';

export const CLAIMS: ClaimDef[] = [
  {
    id: 'iterative-beats-offline',
    text: 'Online iterative DPO beats offline DPO at the same label budget (gold reward, at the main η)',
    source:
      "ICML §3.1 [SEC]; RLHF Workflow Table 2 (iterative 31.3 vs DPO baseline 22.5 LC AE2) [WF] — that table does NOT match label budgets, so it backs the papers' accounting row below",
    accounting: FAIR,
    check: goldOf('superiority', 'iterative-dpo-warm', 'offline-dpo'),
  },
  {
    id: 'iterative-matched-kl-offline',
    text: 'At comparable KL, online iterative DPO reaches a higher reward than offline DPO',
    source: `${HEADLINE}; the paper's comparison is reward at comparable KL`,
    accounting: FAIR,
    check: matchedKl('iterative-dpo-warm', 'offline-dpo'),
  },
  {
    id: 'iterative-frontier-offline',
    text: "Online iterative DPO's reward–KL frontier dominates offline DPO's",
    source: `${HEADLINE}, reward–KL figure (in words)`,
    accounting: FAIR,
    check: frontierDominance('iterative-dpo-warm', 'offline-dpo'),
  },
  {
    id: 'iterative-beats-rso',
    text: 'Online iterative DPO beats RSO at the same label budget (gold reward, at the main η)',
    source: HEADLINE,
    accounting: 'fair: RSO pays the B labels of its reward model, which ranks its rejection-sampled pairs',
    check: goldOf('superiority', 'iterative-dpo-warm', 'rso'),
  },
  {
    id: 'iterative-matched-kl-rso',
    text: 'At comparable KL, online iterative DPO reaches a higher reward than RSO',
    source: HEADLINE,
    accounting: 'fair: both arms rely on B oracle labels',
    check: matchedKl('iterative-dpo-warm', 'rso'),
  },
  {
    id: 'iterative-frontier-rso',
    text: "Online iterative DPO's reward–KL frontier dominates RSO's",
    source: HEADLINE,
    accounting: 'fair: both arms rely on B oracle labels',
    check: frontierDominance('iterative-dpo-warm', 'rso'),
  },
  {
    id: 'multistep-dominates',
    text: 'Multi-step RSO gives a reward–KL frontier that dominates RSO',
    source: 'ICML §3.1, reward–KL figure (in words) [SEC]',
    accounting: 'both rank with the same reward model on B labels',
    check: frontierDominance('multi-step-rso', 'rso'),
  },
  {
    id: 'iterative-retrain-beats-offline',
    text: 'Iterative DPO with the ICML schedule (retrain from π0 on all data) beats offline DPO',
    source: 'ICML paper, Online-GSHF-DPO [SEC]',
    accounting: FAIR,
    check: goldOf('superiority', 'iterative-dpo-retrain', 'offline-dpo'),
  },
  {
    id: 'hybrid-beats-offline',
    text: 'Hybrid GSHF (offline data, then online iterations) beats offline DPO at the same label budget',
    source: 'ICML: Hybrid-GSHF-DPO is the headline method [SEC]',
    accounting: FAIR,
    check: goldOf('superiority', 'hybrid', 'offline-dpo'),
  },
  {
    id: 'hybrid-vs-online',
    text: 'Hybrid GSHF beats the purely online loop at the same label budget',
    source:
      'ICML: hybrid guarantee, offline coverage reduces the online exploration needed [SEC]; RLHF Workflow runs purely online',
    accounting: FAIR,
    check: goldOf('superiority', 'hybrid', 'iterative-dpo-warm'),
  },
  {
    id: 'best-worst-vs-uncertainty',
    text: 'Best-of-n vs worst-of-n pairs work at least as well as the uncertainty-maximising pair (Σ⁻¹ of the linear RM)',
    source:
      'RLHF Workflow §2.3 / the maintainers ("max-min performs the best") [WF, ISSUE]; theory prefers max uncertainty [WF]',
    accounting: FAIR,
    check: goldOf('non-inferiority', 'iterative-dpo-warm', 'uncertainty'),
  },
  {
    id: 'iterative-beats-offline-proxy',
    text: "Online iterative DPO beats offline DPO when a strong proxy RM labels both (the papers' accounting)",
    source: 'RLHF Workflow Table 2 and §3 (a proxy RM labels the online data) [WF]',
    accounting: "papers': a proxy RM fitted on a large labelled pool labels both arms' pairs",
    check: goldOf('superiority', 'iterative-dpo-proxy', 'offline-dpo-proxy'),
  },
  {
    id: 'iterative-neural-beats-offline',
    text: 'Online iterative DPO with the neural RM beats offline DPO (fair accounting)',
    source: 'ICML §3.1 [SEC] (the papers use neural RMs)',
    accounting: FAIR,
    check: goldOf('superiority', 'iterative-dpo-warm-neural', 'offline-dpo'),
  },
  {
    id: 'pessimism-helps-offline',
    text: 'Offline GSHF with pessimism (DPO with the per-token Γ margin) beats plain offline DPO on the test prompts',
    source: 'ICML §2.1 / §3.1: offline GSHF with pessimism [SEC]',
    accounting: FAIR,
    check: goldOf('superiority', 'offline-dpo-pessimistic', 'offline-dpo'),
  },
  {
    id: 'pessimism-helps-ood',
    text: 'Offline GSHF with pessimism beats plain offline DPO on out-of-distribution prompts',
    source: 'ICML §2.1: pessimism guards against what the offline data does not cover [SEC]',
    accounting: FAIR,
    check: compareRows('offline-dpo-pessimistic', 'offline-dpo', 'superiority', oodRow, 'OOD gold reward'),
  },
  {
    id: 'length-grows',
    text: 'Output length grows over the online iterations (161 → 263 tokens in the paper: reward hacking via length)',
    source: 'ICML §3.1 limitation [SEC]',
    accounting: FAIR,
    check: lengthGrows,
  },
  {
    id: 'repetition-hacking',
    text: 'The online policy games the lexicon gold reward by repeating scored words (repeat rate up against π0)',
    source: 'our gold reward r* = AFINN sum; cf. the paper’s reward-hacking remark [SEC]',
    accounting: FAIR,
    check: repetition,
  },
];

function lengthGrows(cfg: PipelineConfig, res: ReproduceResults): ClaimResult {
  const T = cfg.methods.iterative.iterations;
  const key = 'iterative-dpo-warm';
  const rows = res.rows.filter((r) => r.method === key && r.eta === cfg.dpo.eta);
  const pi0 = res.rows.filter((r) => r.method === 'pi0');
  const x = Array.from({ length: T + 1 }, (_, t) => t);
  const series: number[][] = [];
  for (const p of pi0) {
    const its = x.slice(1).map((t) => rows.find((r) => r.seed === p.seed && r.iteration === t));
    if (its.every((r) => r !== undefined))
      series.push([p.eval.length_tokens, ...its.map((r) => (r as PolicyResult).eval.length_tokens)]);
  }
  if (series.length < 2) return NO_DATA('fewer than 2 seeds with every iteration');
  // Margin for "flat": 2% of π0's length per iteration.
  const flat = 0.02 * meanOf(pi0, M.len);
  const j = trend(x, series, flat);
  const byIt = x.map((t) => fmt(series.reduce((acc, ys) => acc + ys[t], 0) / series.length)).join(' → ');
  return {
    verdict: j.verdict,
    numbers: [j.mean, j.lo, j.hi, j.n],
    evidence:
      `mean length in tokens over iterations 0 (π0) … ${T}: ${byIt} (${label(key)}); least-squares slope per seed, ` +
      `${fmt(j.mean)} tokens/iteration (95% CI ${fmt(j.lo)} to ${fmt(j.hi)}, n=${j.n}; "flat" = inside ±${fmt(flat, 2)}, 2% of π0's length). Length cap: ${cfg.sampling.maxTokens} tokens.` +
      undecided(j),
  };
}

/**
 * Repetition: the per-seed difference of repeat rates (policy − π0), a t-interval over seeds — the
 * samples cluster by seed (one policy per seed), so the seed is the unit, not the sample.
 */
function repetition(cfg: PipelineConfig, res: ReproduceResults, fin: Fin): ClaimResult {
  const key = 'iterative-dpo-warm';
  const rows = fin.get(key) ?? [];
  const pi0 = fin.get('pi0') ?? [];
  if (!rows.length || !pi0.length) return NO_DATA(`${label(key)} not run`);
  const rep: Metric = M.rep;
  const j = superiority(paired(rows, pi0, rep), 0.02);
  const d2 = paired(rows, pi0, M.d2);
  const ex = (rows[0].eval.repeat_examples ?? []).slice(0, 3).map((e) => `“${e}”`);
  return {
    verdict: j.verdict,
    numbers: [j.mean, j.lo, j.hi, j.n],
    evidence:
      `${label(key)} at η=${cfg.dpo.eta}: repeat rate ${ci(rows, rep)} vs π0 ${ci(pi0, rep)}; per-seed difference ${fmt(j.mean)} ` +
      `(95% CI ${fmt(j.lo)} to ${fmt(j.hi)} over n=${j.n} seeds — cluster-robust: each seed's ${rows[0].eval.n} samples are one unit; ` +
      `"no change" = inside ±0.02); distinct-2 change ${fmt(d2.reduce((a, b) => a + b, 0) / Math.max(1, d2.length))}. Samples that repeat a lexicon word: ${ex.join(' ') || 'none'}` +
      undecided(j),
  };
}

/** Every claim's verdict, with its note (from the config) and the note's staleness. */
export function judgeClaims(cfg: PipelineConfig, res: ReproduceResults, fin: Fin): ClaimVerdict[] {
  return CLAIMS.map((c) => {
    const v = c.check(cfg, res, fin);
    const fp = fingerprint(v.numbers);
    const raw = cfg.claimNotes[c.id];
    const note = raw === undefined ? undefined : noteStatus(raw, fp);
    return {
      id: c.id,
      text: c.text,
      source: c.source,
      accounting: c.accounting,
      verdict: v.verdict,
      evidence: v.evidence,
      fingerprint: fp,
      ...(note ? { note: note.text, noteStatus: note.status } : {}),
    };
  });
}
