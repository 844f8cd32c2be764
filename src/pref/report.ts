/**
 * The report of `gshf lm reproduce`: the method table (mean ± 95% CI over seeds), per-iteration rows
 * of the online methods, the reward–KL plot across methods and η, label accounting, and each of the
 * paper's claims beside the measured verdict. Verdicts use paired per-seed differences (all methods
 * of a seed share π0, the test prompts and the evaluation sampling seed) with Student-t intervals:
 *   supported    — the 95% interval lies on the claimed side,
 *   contradicted — it lies on the other side,
 *   inconclusive — it contains zero;
 *   mixed        — a two-part claim where one part holds and the other does not.
 * Frontier dominance is judged on curves that share π0 as their KL = 0 anchor (see `dominance`).
 */
import { interpolate, meanCI95 } from '../math/stats.js';
import { fmt, fmtCI, mdTable } from '../report/markdown.js';
import { linePlot, type Series } from '../report/svg.js';
import { rsoFrontierSeeds, type PipelineConfig } from './pipeline-config.js';
import type { PolicyResult } from './methods/common.js';
import type { ReproduceResults } from './results.js';
import type { SelectionResult } from './methods/iterative.js';
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

export type { Verdict };

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

export interface PrefReport {
  markdown: string;
  svgs: { name: string; content: string }[];
  verdicts: ClaimVerdict[];
}

const LABELS: Record<string, string> = {
  pi0: 'π0 (SFT)',
  'offline-dpo': 'offline DPO',
  rso: 'RSO',
  'multi-step-rso': 'multi-step RSO',
  'iterative-dpo-warm': 'iterative DPO (warm start, RLHF Workflow)',
  'iterative-dpo-retrain': 'iterative DPO (retrain from π0, ICML)',
  uncertainty: 'iterative DPO + uncertainty enhancer',
  hybrid: 'hybrid (online seeded with offline data)',
  'iterative-dpo-warm-neural': 'iterative DPO (warm start), neural RM',
  'iterative-dpo-warm-linear': 'iterative DPO (warm start), linear RM',
  'iterative-dpo-retrain-neural': 'iterative DPO (retrain), neural RM',
  'uncertainty-neural': 'iterative DPO + uncertainty enhancer, neural RM',
  'offline-dpo-pessimistic': 'offline DPO + pessimism (GSHF Option II margin)',
  'offline-dpo-proxy': 'offline DPO, proxy-labelled',
  'iterative-dpo-proxy': 'iterative DPO (warm start), proxy-labelled',
};

/** Method table order. */
const ORDER = [
  'pi0',
  'offline-dpo',
  'offline-dpo-pessimistic',
  'iterative-dpo-warm',
  'iterative-dpo-warm-linear',
  'iterative-dpo-warm-neural',
  'iterative-dpo-retrain',
  'iterative-dpo-retrain-neural',
  'uncertainty',
  'uncertainty-neural',
  'hybrid',
  'offline-dpo-proxy',
  'iterative-dpo-proxy',
  'rso',
  'multi-step-rso',
];

/** Online methods present in the results, in table order. */
function onlineKeys(res: ReproduceResults): string[] {
  const have = new Set(res.selections.map((s) => s.method));
  return [...ORDER.filter((k) => have.has(k)), ...[...have].filter((k) => !ORDER.includes(k))];
}

/** The label accounting of a method's rows. */
function accountingOf(method: string): string {
  if (method === 'pi0') return '—';
  if (method.endsWith('-proxy')) return "papers' (proxy RM labels)";
  return 'fair (oracle, B labels)';
}
const label = (m: string): string => LABELS[m] ?? m;

type Metric = (r: PolicyResult) => number;
const M: Record<string, Metric> = {
  gold: (r) => r.eval.gold_reward,
  kl: (r) => r.eval.kl,
  k3: (r) => r.eval.kl_k3,
  win: (r) => r.eval.win_rate,
  len: (r) => r.eval.length_tokens,
  d2: (r) => r.eval.distinct_2,
  rep: (r) => r.eval.repeat_rate,
  labels: (r) => r.labelsUsed,
};

function ci(rows: readonly PolicyResult[], f: Metric, digits = 3): string {
  if (rows.length === 0) return '—';
  const c = meanCI95(rows.map(f));
  return rows.length > 1 ? fmtCI(c.mean, c.halfWidth, digits) : fmt(c.mean, digits);
}

/** The reported row of each method at the main η, one per seed (online methods: the validation-selected iterate). */
export function finalRows(cfg: PipelineConfig, res: ReproduceResults): Map<string, PolicyResult[]> {
  const eta = cfg.dpo.eta;
  const out = new Map<string, PolicyResult[]>();
  const add = (k: string, r: PolicyResult): void => {
    out.set(k, [...(out.get(k) ?? []), r]);
  };
  const main = res.rows.filter((r) => r.eta === eta);
  const single = new Set(['pi0', 'offline-dpo', 'rso', 'offline-dpo-pessimistic', 'offline-dpo-proxy']);
  for (const r of main) if (single.has(r.method)) add(r.method, r);
  const nStages = cfg.methods.multiStepRso.etas.length;
  for (const r of main) if (r.method === 'multi-step-rso' && r.iteration === nStages) add(r.method, r);
  for (const sel of res.selections.filter((x) => x.eta === eta)) {
    const row = main.find(
      (r) => r.method === sel.method && r.seed === sel.seed && r.iteration === sel.selected,
    );
    if (row) add(sel.method, { ...row, labelsUsed: sel.labelsUsed });
  }
  for (const list of out.values()) list.sort((a, b) => a.seed - b.seed);
  return out;
}

function paired(a: readonly PolicyResult[], b: readonly PolicyResult[], f: Metric): number[] {
  const bs = new Map(b.map((r) => [r.seed, r]));
  return a.filter((r) => bs.has(r.seed)).map((r) => f(r) - f(bs.get(r.seed) as PolicyResult));
}

/** "a beats b" on gold reward, or "a at least as good as b" (non-inferiority). */
function pairedText(j: Judgement): string {
  return j.n < 2
    ? `${j.n} paired seed(s)`
    : `paired difference ${fmt(j.mean)} (95% CI ${fmt(j.lo)} to ${fmt(j.hi)}, n=${j.n})`;
}

function meanOf(rows: readonly PolicyResult[], f: Metric): number {
  return rows.length ? meanCI95(rows.map(f)).mean : NaN;
}

/** Curves (mean over frontier seeds) of gold reward vs KL per method across η. */
function frontierCurves(
  cfg: PipelineConfig,
  res: ReproduceResults,
  onlySeed?: number,
): Map<string, { eta: number; kl: number; gold: number; d2: number; rep: number; n: number }[]> {
  const seedsOf = (m: string): number =>
    m === 'rso' || m === 'multi-step-rso' ? rsoFrontierSeeds(cfg) : cfg.frontier.seeds;
  const inSeeds = (seed: number, m: string): boolean =>
    onlySeed === undefined ? seed < seedsOf(m) : seed === onlySeed && seed < seedsOf(m);
  const etas = [...new Set([cfg.dpo.eta, ...cfg.frontier.etas])].sort((a, b) => a - b);
  const fin = new Map<
    string,
    { eta: number; kl: number; gold: number; d2: number; rep: number; n: number }[]
  >();
  const methods: string[] = [...cfg.frontier.methods];
  if (cfg.methods.multiStepRso.enabled) methods.splice(2, 0, 'multi-step-rso');
  for (const method of methods) {
    if (method === 'multi-step-rso') {
      // Stage i of the main run is multi-step RSO with target η_i: the curve is the stage path.
      const path = res.rows.filter(
        (r) => r.method === method && r.eta === cfg.dpo.eta && inSeeds(r.seed, method),
      );
      const stages = [...new Set(path.map((r) => r.iteration ?? 0))];
      const pts = stages.map((st) => {
        const rows = path.filter((r) => r.iteration === st);
        return {
          eta: Number(rows[0].extra?.stageEta),
          kl: meanOf(rows, M.kl),
          gold: meanOf(rows, M.gold),
          d2: meanOf(rows, M.d2),
          rep: meanOf(rows, M.rep),
          n: rows.length,
        };
      });
      fin.set(
        method,
        pts.sort((a, b) => a.kl - b.kl),
      );
      continue;
    }
    const pts: { eta: number; kl: number; gold: number; d2: number; rep: number; n: number }[] = [];
    for (const eta of etas) {
      let rows: PolicyResult[];
      if (method === 'iterative-dpo-warm') {
        rows = res.selections
          .filter((s) => s.method === method && s.eta === eta && inSeeds(s.seed, method))
          .map((s) =>
            res.rows.find(
              (r) => r.method === method && r.eta === eta && r.seed === s.seed && r.iteration === s.selected,
            ),
          )
          .filter((r): r is PolicyResult => r !== undefined);
      } else {
        rows = res.rows.filter((r) => r.method === method && r.eta === eta && inSeeds(r.seed, method));
      }
      if (rows.length === 0) continue;
      pts.push({
        eta,
        kl: meanOf(rows, M.kl),
        gold: meanOf(rows, M.gold),
        d2: meanOf(rows, M.d2),
        rep: meanOf(rows, M.rep),
        n: rows.length,
      });
    }
    fin.set(
      method,
      pts.sort((a, b) => a.kl - b.kl),
    );
  }
  return fin;
}

/** Gold reward of a reward–KL curve at `kl` (the shared src/math interpolate). */
function goldAt(curve: readonly { kl: number; gold: number }[], kl: number): number | null {
  return interpolate(
    curve,
    kl,
    (p) => p.kl,
    (p) => p.gold,
  );
}

/**
 * Margins by which curve `a` lies above curve `b` (both as reward vs KL, sharing π0 at KL 0):
 * at every point of b, a's reward interpolated at that KL minus b's; at every point of a beyond
 * b's KL range, a's reward minus the best reward b reaches with at most that KL (b cannot go
 * further, so its envelope is its best point). Within a's range the comparison is symmetric.
 */
export function dominance(
  a: { kl: number; gold: number }[],
  b: { kl: number; gold: number }[],
  anchor: { kl: number; gold: number },
): number[] {
  const A = [anchor, ...a].sort((x, y) => x.kl - y.kl);
  const Bc = [anchor, ...b].sort((x, y) => x.kl - y.kl);
  const out: number[] = [];
  for (const p of b) {
    const r = goldAt(A, p.kl);
    if (r !== null) out.push(r - p.gold);
  }
  const bMax = Bc[Bc.length - 1].kl;
  for (const q of a) {
    if (q.kl <= bMax) {
      const r = goldAt(Bc, q.kl);
      if (r !== null) out.push(q.gold - r);
    } else {
      out.push(q.gold - Math.max(...Bc.map((x) => x.gold)));
    }
  }
  return out;
}

/**
 * `dominance` with the comparison points kept in place: entry k is the margin at point k (b's points
 * first, then a's), null where the point is outside the other curve's range — so margins of several
 * seeds can be paired point by point.
 */
export function dominanceByPoint(
  a: { kl: number; gold: number }[],
  b: { kl: number; gold: number }[],
  anchor: { kl: number; gold: number },
): (number | null)[] {
  const A = [anchor, ...a].sort((x, y) => x.kl - y.kl);
  const Bc = [anchor, ...b].sort((x, y) => x.kl - y.kl);
  const bMax = Bc[Bc.length - 1].kl;
  const out: (number | null)[] = b.map((p) => {
    const r = goldAt(A, p.kl);
    return r === null ? null : r - p.gold;
  });
  for (const q of a) {
    if (q.kl <= bMax) {
      const r = goldAt(Bc, q.kl);
      out.push(r === null ? null : q.gold - r);
    } else out.push(q.gold - Math.max(...Bc.map((x) => x.gold)));
  }
  return out;
}

interface ClaimResult {
  verdict: Verdict;
  evidence: string;
  /** The numbers the verdict rests on (fingerprinted for claim notes). */
  numbers: number[];
}

interface ClaimDef {
  id: string;
  text: string;
  source: string;
  accounting: string;
  check: (cfg: PipelineConfig, res: ReproduceResults, fin: Map<string, PolicyResult[]>) => ClaimResult;
}

const NO_DATA = (why: string): ClaimResult => ({ verdict: 'no data', evidence: why, numbers: [] });

function compareGold(a: string, b: string, rule: 'superiority' | 'non-inferiority') {
  return (cfg: PipelineConfig, _res: ReproduceResults, fin: Map<string, PolicyResult[]>): ClaimResult => {
    const A = fin.get(a) ?? [];
    const B = fin.get(b) ?? [];
    if (!A.length || !B.length) return NO_DATA(`${!A.length ? label(a) : label(b)} not run`);
    const diffs = paired(A, B, M.gold);
    const margin = cfg.verdicts.equivalenceMargin;
    const j = rule === 'superiority' ? superiority(diffs, margin) : nonInferiority(diffs, margin);
    const klA = meanOf(A, M.kl);
    const klB = meanOf(B, M.kl);
    const seedsA = A.filter((r) => B.some((x) => x.seed === r.seed)).length;
    return {
      verdict: j.verdict,
      numbers: [j.mean, j.lo, j.hi, j.n, klA, klB],
      evidence:
        `gold reward ${label(a)} ${ci(A, M.gold)} vs ${label(b)} ${ci(B, M.gold)}; ${pairedText(j)}` +
        (rule === 'non-inferiority' ? ` (non-inferiority margin −${margin})` : '') +
        `. KL(π‖π0) ${fmt(klA)} vs ${fmt(klB)}; win rate vs π0 ${fmt(meanOf(A, M.win))} vs ${fmt(meanOf(B, M.win))}; ` +
        `labels ${fmt(meanOf(A, M.labels), 4)} vs ${fmt(meanOf(B, M.labels), 4)}; ${seedsA} paired seeds`,
    };
  };
}

const FAIR = 'fair: both arms pay B oracle labels, all of which train the policy';

export const CLAIMS: ClaimDef[] = [
  {
    id: 'iterative-beats-offline',
    text: 'Online iterative DPO beats offline DPO at the same label budget (gold reward)',
    source:
      "ICML §3.1 [SEC]; RLHF Workflow Table 2 (iterative 31.3 vs DPO baseline 22.5 LC AE2) [WF] — that table does NOT match label budgets (the iterative model gets fresh proxy-RM labels every iteration, the offline baseline a fixed public data set), so it backs the papers' accounting row below, not this one",
    accounting: FAIR,
    check: compareGold('iterative-dpo-warm', 'offline-dpo', 'superiority'),
  },
  {
    id: 'iterative-beats-offline-proxy',
    text: "Online iterative DPO beats offline DPO when a strong proxy RM labels both (the papers' accounting)",
    source: 'RLHF Workflow Table 2 and §3 (a proxy RM labels the online data) [WF]',
    accounting: "papers': a proxy RM fitted on a large labelled pool labels both arms' pairs",
    check: compareGold('iterative-dpo-proxy', 'offline-dpo-proxy', 'superiority'),
  },
  {
    id: 'iterative-neural-beats-offline',
    text: 'Online iterative DPO with the neural RM beats offline DPO (fair accounting)',
    source: 'ICML §3.1 [SEC] (the papers use neural RMs)',
    accounting: FAIR,
    check: compareGold('iterative-dpo-warm-neural', 'offline-dpo', 'superiority'),
  },
  {
    id: 'pessimism-helps-offline',
    text: 'Offline GSHF with pessimism (DPO with the uncertainty margin) beats plain offline DPO',
    source: 'ICML §2.1 / §3.1: offline GSHF with pessimism [SEC]',
    accounting: FAIR,
    check: compareGold('offline-dpo-pessimistic', 'offline-dpo', 'superiority'),
  },
  {
    id: 'iterative-retrain-beats-offline',
    text: 'Iterative DPO with the ICML schedule (retrain from π0 on all data) beats offline DPO',
    source: 'ICML paper, Online-GSHF-DPO [SEC]',
    accounting: FAIR,
    check: compareGold('iterative-dpo-retrain', 'offline-dpo', 'superiority'),
  },
  {
    id: 'iterative-beats-rso',
    text: 'Online iterative DPO beats RSO at the same label budget',
    source: 'ICML §3.1: Hybrid/Online GSHF-DPO beats DPO and RSO [SEC]',
    accounting: FAIR,
    check: compareGold('iterative-dpo-warm', 'rso', 'superiority'),
  },
  {
    id: 'multistep-dominates',
    text: 'Multi-step RSO gives a reward–KL frontier that dominates RSO',
    source: 'ICML §3.1, reward–KL figure (in words) [SEC]',
    accounting: 'both use an RM trained on the same B labels',
    check: (cfg, res) => {
      const seeds = rsoFrontierSeeds(cfg);
      const perPoint: number[][] = [];
      for (let sd = 0; sd < seeds; sd++) {
        const one = frontierCurves(cfg, res, sd);
        const a = one.get('multi-step-rso') ?? [];
        const b = one.get('rso') ?? [];
        const p0 = res.rows.find((r) => r.method === 'pi0' && r.seed === sd);
        if (!a.length || !b.length || !p0) continue;
        dominanceByPoint(a, b, { kl: 0, gold: p0.eval.gold_reward }).forEach((m, k) => {
          if (m === null) return;
          (perPoint[k] ??= []).push(m);
        });
      }
      const d = dominancePointwise(perPoint, cfg.verdicts.equivalenceMargin);
      if (d.verdict === 'no data') return NO_DATA(`frontier not run for both methods on ≥ 2 seeds`);
      const curves = frontierCurves(cfg, res);
      const pts = (c: { eta: number; kl: number; gold: number }[]) =>
        c.map((p) => `η=${p.eta}: KL ${fmt(p.kl)}, r* ${fmt(p.gold)}`).join('; ');
      return {
        verdict: d.verdict,
        numbers: d.points.flatMap((p) => [p.mean, p.lo, p.hi, p.n]),
        evidence:
          `per-seed curves compared at ${d.points.length} points: multi-step RSO significantly above RSO at ${d.above}, below at ${d.below} ` +
          `(margins with 95% CI: ${d.points.map((p) => `${fmt(p.mean, 2)} [${fmt(p.lo, 2)}, ${fmt(p.hi, 2)}]`).join('; ')}; ${seeds} seeds). ` +
          `Seed means — multi-step RSO: ${pts(curves.get('multi-step-rso') ?? [])}. RSO: ${pts(curves.get('rso') ?? [])}`,
      };
    },
  },
  {
    id: 'best-worst-vs-uncertainty',
    text: 'Best-of-n vs worst-of-n pairs work at least as well as the uncertainty-maximising pair (the practical enhancer)',
    source:
      'RLHF Workflow §2.3 / the RLHFlow maintainers ("max-min performs the best") [WF, ISSUE]; theory prefers max uncertainty [WF]',
    accounting: FAIR,
    check: compareGold('iterative-dpo-warm', 'uncertainty', 'non-inferiority'),
  },
  {
    id: 'hybrid-vs-online',
    text: 'Hybrid (online loop seeded with offline data) beats the purely online loop',
    source:
      'ICML: Hybrid-GSHF-DPO is the headline method [SEC]; RLHF Workflow runs purely online (RLHFlow maintainers) [ISSUE]',
    accounting: FAIR,
    check: compareGold('hybrid', 'iterative-dpo-warm', 'superiority'),
  },
  {
    id: 'length-grows',
    text: 'Output length grows over the online iterations (161 → 263 tokens in the paper: reward hacking via length)',
    source: 'ICML §3.1 limitation [SEC]',
    accounting: FAIR,
    check: (cfg, res) => {
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
          `${fmt(j.mean)} tokens/iteration (95% CI ${fmt(j.lo)} to ${fmt(j.hi)}, n=${j.n}; "flat" = inside ±${fmt(flat, 2)}, 2% of π0's length). Length cap: ${cfg.sampling.maxTokens} tokens`,
      };
    },
  },
  {
    id: 'repetition-hacking',
    text: 'At a low KL penalty the policy games the lexicon gold reward by repeating positive words (repetition up, distinct-2 down)',
    source: 'project design (our gold reward r* = AFINN sum); cf. the paper’s reward-hacking remark [SEC]',
    accounting: FAIR,
    check: (cfg, res) => {
      const etas = [cfg.dpo.eta, ...(cfg.frontier.enabled ? cfg.frontier.etas : [])];
      const low = Math.min(...etas);
      const key = 'iterative-dpo-warm';
      const sel = res.selections.filter((s) => s.method === key && s.eta === low);
      const rows = sel
        .map((s) =>
          res.rows.find(
            (r) => r.method === key && r.eta === low && r.seed === s.seed && r.iteration === s.selected,
          ),
        )
        .filter((r): r is PolicyResult => r !== undefined);
      const pi0 = res.rows.filter((r) => r.method === 'pi0' && rows.some((x) => x.seed === r.seed));
      if (!rows.length || !pi0.length) return NO_DATA('no low-η run');
      // Two-proportion interval on the pooled test samples (per-sample, since the frontier may use one seed).
      const n1 = rows.reduce((a, r) => a + r.eval.n, 0);
      const n0 = pi0.reduce((a, r) => a + r.eval.n, 0);
      const p1 = rows.reduce((a, r) => a + r.eval.repeat_rate * r.eval.n, 0) / n1;
      const p0 = pi0.reduce((a, r) => a + r.eval.repeat_rate * r.eval.n, 0) / n0;
      const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p0 * (1 - p0)) / n0);
      const lo = p1 - p0 - 1.96 * se;
      const hi = p1 - p0 + 1.96 * se;
      const d2 = meanOf(rows, M.d2) < meanOf(pi0, M.d2);
      const verdict: Verdict =
        lo > 0 ? (d2 ? 'supported' : 'mixed') : hi < 0 ? 'contradicted' : 'inconclusive';
      return {
        verdict,
        numbers: [p1, p0, lo, hi],
        evidence:
          `${label(key)} at η=${low}: repeat rate ${fmt(p1)} vs π0 ${fmt(p0)} (difference 95% CI ${fmt(lo)} to ${fmt(hi)}, ${n1} vs ${n0} samples); ` +
          `distinct-2 ${fmt(meanOf(rows, M.d2))} vs ${fmt(meanOf(pi0, M.d2))}; gold ${fmt(meanOf(rows, M.gold))} vs ${fmt(meanOf(pi0, M.gold))}; KL ${fmt(meanOf(rows, M.kl))}. ` +
          `Samples that repeat a lexicon word: ${
            (rows[0].eval.repeat_examples ?? [])
              .slice(0, 3)
              .map((e) => `“${e}”`)
              .join(' ') || 'none'
          }`,
      };
    },
  },
];

/** Every claim's verdict, with its note (from the config) and the note's staleness. */
export function judgeClaims(
  cfg: PipelineConfig,
  res: ReproduceResults,
  fin: Map<string, PolicyResult[]>,
): ClaimVerdict[] {
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

/** Everything the report's sections read. */
interface ReportInput {
  cfg: PipelineConfig;
  res: ReproduceResults;
  fin: Map<string, PolicyResult[]>;
  meta: ReportMeta;
  eta: number;
  T: number;
  B: number;
  margin: number;
  vocab: { rm: number };
  verdicts: ClaimVerdict[];
}

export interface ReportMeta {
  command: string;
  wallSeconds: number;
  invocations: number[];
  /** 1-minute load average at the start and the end of the run. */
  loadAverage?: number[];
}

function claimEvidence(v: ClaimVerdict): string {
  const tag = ` [numbers ${v.fingerprint}]`;
  if (!v.note) return v.evidence + tag;
  const st =
    v.noteStatus === 'stale'
      ? ' — **stale: written beside other numbers**'
      : v.noteStatus === 'current'
        ? ' — current'
        : ' — not pinned to numbers';
  return `${v.evidence}${tag}. *${v.note}*${st}`;
}

function header(r: ReportInput, out: string[]): void {
  const { cfg, res, meta } = r;
  out.push(`# Iterative preference learning on a tiny LM: the paper's comparison in miniature`, '');
  out.push(
    `Reproduce with \`${meta.command}\`. Wall time ${fmt(meta.wallSeconds, 3)} s` +
      (meta.invocations.length > 1
        ? ` over ${meta.invocations.length} invocations (${meta.invocations.join(' + ')} s: resumed)`
        : '') +
      (meta.loadAverage ? ` (load average ${meta.loadAverage.join(' → ')} on 2 cores)` : '') +
      `. ${res.seeds} seeds for the central comparison; the η sweep uses ${cfg.frontier.enabled ? `${cfg.frontier.seeds} seed(s) (RSO and the multi-step RSO path: ${rsoFrontierSeeds(cfg)})` : 'no seeds (disabled)'}.`,
    '',
  );
}

export function buildReport(cfg: PipelineConfig, res: ReproduceResults, meta: ReportMeta): PrefReport {
  const out: string[] = [];
  const svgs: PrefReport['svgs'] = [];
  const fin = finalRows(cfg, res);
  const r: ReportInput = {
    cfg,
    res,
    fin,
    meta,
    eta: cfg.dpo.eta,
    T: cfg.methods.iterative.iterations,
    B: res.budget,
    margin: cfg.verdicts.equivalenceMargin,
    vocab: { rm: res.vocab?.rm ?? NaN },
    verdicts: judgeClaims(cfg, res, fin),
  };
  header(r, out);
  setupSection(r, out);
  labelSection(r, out);
  claimSection(r, out);
  methodSection(r, out);
  iterationSection(r, out);
  rewardKlSection(r, out, svgs);
  iterationPlots(r, out, svgs);
  rsoSection(r, out);
  rmSection(r, out);
  sampleSection(r, out);
  timeSection(r, out);
  selectionSection(r, out);
  notCovered(out);
  return { markdown: out.join('\n'), svgs, verdicts: r.verdicts };
}

function setupSection(r: ReportInput, out: string[]): void {
  const { cfg, res, fin } = r;
  out.push('## Setup', '');
  const mc = cfg.model;
  const eta = cfg.dpo.eta;
  out.push(
    `- **π0**: GPT (${mc.preset} preset${mc.nLayer ? `, ${mc.nLayer} layers` : ''}${mc.nEmbd ? `, d=${mc.nEmbd}` : ''}${mc.nHead ? `, ${mc.nHead} heads` : ''}; ${res.pi0.params.toLocaleString('en-US')} parameters, ${cfg.tokenizer.type === 'bpe' ? `byte-level BPE tokenizer with ${cfg.tokenizer.vocabSize} entries trained on the corpus` : 'byte tokenizer'}), SFT for ${res.pi0.sftSteps} steps on the built-in review corpus: validation loss ${fmt(res.pi0.initialValLoss)} → ${fmt(res.pi0.valLoss)} nats/token (${fmt(res.pi0.seconds)} s, kernels: ${res.pi0.kernels}).`,
    `- **Gold reward r\\***: AFINN-165 sum of the response / 5 (npm \`sentiment\`). **Human**: Bradley–Terry oracle on r* with temperature ${cfg.oracle.temperature}; every query is one label, recorded in the ledger \`labels.jsonl\`.`,
    `- **Prompts**: pool of ${res.promptPool.size} distinct prompts (${cfg.prompts.source === 'generated' ? '"Review of <adjective> <product>:"' : cfg.prompts.source}), split once (seed ${cfg.prompts.seed}) into ${res.promptPool.iterations} disjoint iteration sets of ${res.promptPool.perIteration}, validation ${res.promptPool.validation} (model selection), test ${res.promptPool.test} (every number below); the offline set (${res.promptPool.offline} prompts) is the iteration prompts plus the RM seed prompts, disjoint from validation and test.`,
    `- **Sampling**: temperature ${cfg.sampling.temperature}, at most ${cfg.sampling.maxTokens} new tokens${cfg.tokenizer.type === 'byte' ? ' (bytes)' : ''}. **DPO**: ${cfg.dpo.loss} loss, η = β = ${eta}, reference fixed to π0 (precomputed log-probs), lr ${cfg.dpo.lr}, ${cfg.dpo.epochs} epochs, batch ${cfg.dpo.batch} pairs. **RM**: BT ensemble of ${cfg.rm.members} scalar-head GPTs initialised from π0's trunk${cfg.rm.bootstrap ? ' (bootstrap resamples)' : ''}, ${cfg.rm.epochs} epochs, lr ${cfg.rm.lr}; its mean is "the RM", its std the uncertainty. **Linear RM**: r(y) = ⟨θ, φ(y)⟩ with φ = counts of the ${r.vocab.rm} words occurring ≥ ${cfg.linearRm.minCount} times in the corpus responses + 1 out-of-vocabulary counter; θ = the bandit lab's exact ridge BT-MLE (\`fitMLE\`, λ = ${cfg.linearRm.lambda}), Σ = λI + Σ ΔφΔφᵀ; the uncertainty enhancer labels the pair with the largest ‖φ(a) − φ(b)‖ in Σ⁻¹. r* is linear in these counts up to AFINN's negation rule and words outside the vocabulary.`,
    `- **Evaluation** on the test prompts, ${cfg.eval.samplesPerPrompt} samples per prompt (the same sampling seed for every policy of a seed): mean gold reward; KL(π‖π0) as the sequence-level Monte-Carlo estimate over samples y ~ π: **k1** = mean of log π(y|x) − log π0(y|x) (unbiased, can be negative), **k3** = mean of ρ − 1 − log ρ with ρ = π0(y|x)/π(y|x) (unbiased, ≥ 0), log-probs summed over the sampled tokens (+EOS when the sample stopped); win rate vs π0 = mean of σ((r*(y) − r*(y0))/T) against a π0 sample on the same prompt; length in tokens${cfg.tokenizer.type === 'byte' ? ' (= bytes)' : ' (BPE tokens)'}; distinct-2 over whitespace tokens; repeat rate = fraction of responses that repeat a lexicon-scored word.`,
    '',
  );

  const p0 = fin.get('pi0') ?? [];
  if (p0.length) {
    out.push(
      `π0 on the test prompts: gold reward ${fmt(meanOf(p0, M.gold))} with per-sample standard deviation ${fmt(meanOf(p0, (r) => r.eval.gold_sd ?? NaN))} ` +
        `(r* units; 1 unit = 5 AFINN points), ${fmt(100 * meanOf(p0, (r) => r.eval.unique_frac ?? NaN), 3)}% distinct responses, distinct-2 ${fmt(meanOf(p0, M.d2))}, ` +
        `${fmt(100 * meanOf(p0, (r) => r.eval.stop_rate), 3)}% of samples end with EOS: the gold reward spreads, so pairs of π0 samples carry signal. ` +
        `**Does π0 write words?** ${fmt(100 * meanOf(p0, (r) => r.eval.vocab_share ?? NaN), 3)}% of the words it samples occur in the SFT corpus (target ≥ 95%).`,
      '',
    );
  }
}

function labelSection(r: ReportInput, out: string[]): void {
  const { cfg, res, T, B } = r;
  out.push('## Label budget and accounting', '');
  const fair = cfg.labels.rmSeed === 0;
  out.push(
    `Every method gets **B = ${B} human (oracle) labels per seed**${fair ? ` = ${T} iterations × ${cfg.labels.perIteration}` : ` = ${cfg.labels.rmSeed} (RM seed) + ${T} iterations × ${cfg.labels.perIteration}`}. Two accountings, named in the "accounting" column of the method table:`,
    '',
    `- **fair** (ours): every label a method pays for trains its policy. Offline DPO trains on its ${B} labelled π0 pairs (\`seedS/pool/**\`). ${fair ? `The online loop's iteration 1 labels a random pair of π0 samples per prompt (the offline distribution, no reward model yet); later iterations label the enhancer's pair under the reward model refit on every label so far (no extra cost)` : `The online loop spends ${cfg.labels.rmSeed} labels on its first reward model (\`seedS/pool/seed/**\`, not trained on by pure online DPO) and one label per selected pair`} (\`seedS/<method>/itT/pI\`, at most ${cfg.labels.perIteration} per iteration; a prompt whose samples tie costs nothing). RSO and multi-step RSO: the ${B} labels of their reward model; their pairs are RM-labelled (free). Offline DPO with pessimism: the same ${B} labels as offline DPO.`,
    cfg.methods.proxy.enabled
      ? `- **papers'** (as in RLHF Workflow / the ICML experiments): a proxy reward model — the linear BT-MLE fitted on ${cfg.methods.proxy.labels} oracle labels of π0 pairs (\`seedS/proxy-pool/**\`, charged to neither arm, as the papers' RM comes from external data) — labels both arms: offline DPO's π0 pool pairs (ordered by the proxy) and the online loop's best-vs-worst pairs. Each arm trains on the same number of pairs as under fair accounting.`
      : `- **papers'** accounting (a proxy RM labelling both arms): not run in this config.`,
    `- model selection (best iterate on validation) uses the final RM on the validation prompts (${cfg.methods.iterative.selection === 'rm' ? 'highest mean r_RM' : 'highest r_RM − η·KL'}): **0 labels**, no gold reward.`,
    '',
    `Each method's stage asserts \`labels used ≤ B\` in code. The ledger holds ${res.ledger.labels} labels in total (${Object.entries(
      res.ledger.bySeed,
    )
      .map(([k, v]) => `${k}: ${v}`)
      .join(
        ', ',
      )}; proxy pools and frontier runs at other η included), with ${res.ledger.duplicateIds} duplicate query ids.`,
    '',
  );
}

function claimSection(r: ReportInput, out: string[]): void {
  out.push("## The paper's claims against our measurements", '');
  out.push(
    `Verdict rules (src/math/verdicts.ts): paired per-seed differences with 95% Student-t intervals; **supported** / **contradicted** when the interval lies on one side of 0, **equivalent** when it lies inside ±${r.margin} r* (the stated equivalence margin, about ${fmt(r.margin * 5, 2)} AFINN points), "at least as well" claims by non-inferiority at −${r.margin}, frontier dominance point by point with an interval at each point, "grows over iterations" by the per-seed least-squares slope. A claim note ends with its status: *current* when the numbers it was written beside (fingerprint in brackets) are the numbers shown, **stale** when they changed.`,
    '',
  );
  out.push(
    mdTable(
      ['claim', 'source', 'accounting', 'verdict', 'evidence'],
      r.verdicts.map((v) => [v.text, v.source, v.accounting, `**${v.verdict}**`, claimEvidence(v)]),
      ['l', 'l', 'l', 'l', 'l'],
    ),
    '',
  );
}

function methodSection(r: ReportInput, out: string[]): void {
  const { res, fin, eta, B } = r;
  // Method table
  out.push(
    `## Methods at η = ${eta} (test prompts; mean ± 95% CI over seeds; the central comparison uses ${res.seeds})`,
    '',
  );
  const rowsTable: (string | number)[][] = [];
  for (const k of ORDER) {
    const rows = fin.get(k);
    if (!rows?.length) continue;
    const selected = res.selections.filter((s) => s.method === k && s.eta === eta).map((s) => s.selected);
    rowsTable.push([
      label(k) + (selected.length ? ` — selected it ${selected.join('/')}` : ''),
      `${accountingOf(k)} (${rows.length})`,
      ci(rows, M.gold),
      ci(rows, M.kl),
      ci(rows, M.k3),
      ci(rows, M.win),
      ci(rows, M.len),
      ci(rows, M.d2),
      ci(rows, M.rep),
      ci(rows, (x) => x.eval.vocab_share ?? NaN),
      k === 'pi0' ? '0' : `${fmt(meanOf(rows, M.labels), 4)} (max ${Math.max(...rows.map(M.labels))})`,
    ]);
  }
  out.push(
    mdTable(
      [
        'method',
        'accounting (seeds)',
        'gold reward r*',
        'KL k1',
        'KL k3',
        'win rate vs π0',
        'length (tokens)',
        'distinct-2',
        'repeat rate',
        'words in corpus',
        `labels used (B=${B})`,
      ],
      rowsTable,
    ),
    '',
  );
}

function iterationSection(r: ReportInput, out: string[]): void {
  const { res, eta } = r;
  // Per-iteration table
  out.push('## Online methods per iteration', '');
  const itRows: (string | number)[][] = [];
  for (const k of onlineKeys(res)) {
    const rows = res.rows.filter((r) => r.method === k && r.eta === eta);
    if (!rows.length) continue;
    const its = [...new Set(rows.map((r) => r.iteration ?? 0))].sort((a, b) => a - b);
    for (const t of its) {
      const rr = rows.filter((r) => r.iteration === t).sort((a, b) => a.seed - b.seed);
      const sel = res.selections.filter((s) => s.method === k && s.eta === eta && s.selected === t).length;
      const newPairs = rr.map((r) => Number(r.extra?.newPairs ?? 0));
      itRows.push([
        `${label(k)} it ${t}`,
        ci(rr, M.gold),
        ci(rr, M.kl),
        ci(rr, M.win),
        ci(rr, M.len),
        ci(rr, M.d2),
        fmt(meanOf(rr, M.labels), 4),
        fmt(newPairs.reduce((a, b) => a + b, 0) / Math.max(1, newPairs.length), 3),
        fmt(
          meanOf(rr, (r) => Number(r.extra?.rmBestOfN ?? NaN)),
          3,
        ),
        fmt(meanOf(rr, (r) => Number(r.extra?.rmHeldOutAgreement ?? NaN))),
        `${sel}/${rr.length}`,
      ]);
    }
  }
  out.push(
    'Iteration t samples from π_{t−1} (π0 at t = 1; for the hybrid, it 0 is DPO on the offline seed pairs), trains π_t and is evaluated here. "labels" is cumulative (RM seed + online so far); "RM best-of-n" is the mean RM reward of the best of n samples on that iteration\'s prompts (NaN: no RM yet, the pair was random); "RM held-out agreement" is how often the RM that ranked that iteration\'s samples orders held-out π0 pairs on the test prompts like r*; "selected" counts the seeds whose validation picked that iterate.',
    '',
    mdTable(
      [
        'iterate',
        'gold reward',
        'KL k1',
        'win rate',
        'length',
        'distinct-2',
        'labels',
        'new pairs',
        'RM best-of-n',
        'RM held-out agreement',
        'selected',
      ],
      itRows,
    ),
    '',
  );
}

function rewardKlSection(r: ReportInput, out: string[], svgs: PrefReport['svgs']): void {
  const { cfg, res, fin, eta } = r;
  // Reward–KL plots: (1) the η sweeps, each starting at π0 (KL 0); (2) every method at the main η with CIs.
  const series: Series[] = [];
  const curves = frontierCurves(cfg, res);
  for (const [k, pts] of curves) {
    const n = k === 'rso' || k === 'multi-step-rso' ? rsoFrontierSeeds(cfg) : cfg.frontier.seeds;
    const p0f = res.rows.filter((r) => r.method === 'pi0' && r.seed < n);
    if (pts.length)
      series.push({
        label: `${label(k)} (${n} seed${n > 1 ? 's' : ''})`,
        x: [0, ...pts.map((p) => p.kl)],
        y: [meanOf(p0f, M.gold), ...pts.map((p) => p.gold)],
      });
  }
  svgs.push({
    name: 'reward-kl.svg',
    content: linePlot(series, {
      title: 'Reward–KL frontier over η',
      xLabel: 'KL(π‖π0), k1 estimate (nats)',
      yLabel: 'mean gold reward r* on test prompts',
    }),
  });
  const pointSeries: Series[] = [];
  for (const k of ORDER) {
    const rows = fin.get(k);
    if (!rows?.length) continue;
    const g = meanCI95(rows.map(M.gold));
    pointSeries.push({
      label: label(k),
      x: [meanOf(rows, M.kl)],
      y: [g.mean],
      lo: [g.lo],
      hi: [g.hi],
      style: 'points',
    });
  }
  svgs.push({
    name: 'methods-reward-kl.svg',
    content: linePlot(pointSeries, {
      title: `Methods at η = ${eta} (${res.seeds} seeds, 95% CI of r*)`,
      xLabel: 'KL(π‖π0), k1 estimate (nats)',
      yLabel: 'mean gold reward r* on test prompts',
    }),
  });
  out.push('## Reward–KL', '');
  out.push(
    `Left: every method at η = ${eta}, mean over ${res.seeds} seeds, bars = 95% CI of the gold reward over seeds. Right: the η sweep (${[...new Set([eta, ...cfg.frontier.etas])].sort((a, b) => a - b).join(', ')}) of ${cfg.frontier.methods.map(label).join(', ')} (seeds per line in the legend: RSO and the multi-step RSO path use ${rsoFrontierSeeds(cfg)}, the others ${cfg.frontier.seeds}), each line starting at π0 (KL 0); the online method at each η is the validation-selected iterate. The multi-step RSO line is its stage path (stage i = multi-step RSO with target η_i).`,
    '',
    '![methods: reward vs KL](methods-reward-kl.svg) ![η sweep: reward vs KL](reward-kl.svg)',
    '',
  );
  const fRows: (string | number)[][] = [];
  for (const [k, pts] of curves)
    for (const p of pts) fRows.push([label(k), p.eta, fmt(p.kl), fmt(p.gold), fmt(p.d2), fmt(p.rep), p.n]);
  if (fRows.length)
    out.push(
      mdTable(['method', 'η', 'KL k1', 'gold reward', 'distinct-2', 'repeat rate', 'seeds'], fRows),
      '',
    );
}

function iterationPlots(r: ReportInput, out: string[], svgs: PrefReport['svgs']): void {
  const { cfg, res, fin, eta, T, B } = r;
  // Iteration plot
  const itSeries: Series[] = [];
  const lenSeries: Series[] = [];
  const pi0Rows = fin.get('pi0') ?? [];
  for (const k of onlineKeys(res)) {
    const rows = res.rows.filter((r) => r.method === k && r.eta === eta);
    if (!rows.length) continue;
    const its = [...new Set(rows.map((r) => r.iteration ?? 0))].sort((a, b) => a - b);
    const xs = [0, ...its.filter((t) => t > 0)];
    const gold = xs.map((t) =>
      t === 0
        ? k === 'hybrid'
          ? meanOf(
              rows.filter((r) => r.iteration === 0),
              M.gold,
            )
          : meanOf(pi0Rows, M.gold)
        : meanOf(
            rows.filter((r) => r.iteration === t),
            M.gold,
          ),
    );
    const len = xs.map((t) =>
      t === 0
        ? k === 'hybrid'
          ? meanOf(
              rows.filter((r) => r.iteration === 0),
              M.len,
            )
          : meanOf(pi0Rows, M.len)
        : meanOf(
            rows.filter((r) => r.iteration === t),
            M.len,
          ),
    );
    itSeries.push({ label: label(k), x: xs, y: gold });
    lenSeries.push({ label: label(k), x: xs, y: len });
  }
  const offRows = fin.get('offline-dpo') ?? [];
  if (offRows.length)
    itSeries.push({
      label: `offline DPO (${B} labels)`,
      x: [0, T],
      y: [meanOf(offRows, M.gold), meanOf(offRows, M.gold)],
      dashed: true,
      style: 'line',
    });
  svgs.push({
    name: 'iterations-gold.svg',
    content: linePlot(itSeries, {
      title: 'Gold reward over iterations',
      xLabel: `iteration t (labels used: ${cfg.labels.rmSeed ? `${cfg.labels.rmSeed} + ` : ''}${cfg.labels.perIteration}·t; 0 = π0)`,
      yLabel: 'mean gold reward r*',
    }),
  });
  svgs.push({
    name: 'iterations-length.svg',
    content: linePlot(lenSeries, {
      title: 'Response length over iterations',
      xLabel: 'iteration (0 = π0; hybrid: offline DPO start)',
      yLabel: 'mean length (tokens)',
    }),
  });
  out.push(
    '## Over iterations',
    '',
    '![gold over iterations](iterations-gold.svg)',
    '',
    '![length over iterations](iterations-length.svg)',
    '',
  );
}

function rsoSection(r: ReportInput, out: string[]): void {
  const { res, fin, eta } = r;
  // Multi-step RSO path
  const ms = res.rows.filter((r) => r.method === 'multi-step-rso' && r.eta === eta);
  if (ms.length) {
    const stages = [...new Set(ms.map((r) => r.iteration ?? 0))].sort((a, b) => a - b);
    out.push('## RSO details', '');
    const rsoRows = fin.get('rso') ?? [];
    const rr: (string | number)[][] = [];
    if (rsoRows.length)
      rr.push([
        'RSO (from π0)',
        fmt(eta),
        fmt(meanOf(rsoRows, (r) => Number(r.extra?.acceptRate))),
        fmt(
          meanOf(rsoRows, (r) => Number(r.extra?.rmPairs)),
          4,
        ),
        ci(rsoRows, M.gold),
        ci(rsoRows, M.kl),
      ]);
    for (const st of stages) {
      const x = ms.filter((r) => r.iteration === st);
      rr.push([
        `multi-step stage ${st}`,
        fmt(Number(x[0].extra?.stageEta)),
        fmt(meanOf(x, (r) => Number(r.extra?.acceptRate))),
        fmt(
          meanOf(x, (r) => Number(r.extra?.rmPairs)),
          4,
        ),
        ci(x, M.gold),
        ci(x, M.kl),
      ]);
    }
    out.push(
      mdTable(['stage', 'η_i', 'acceptance rate', 'RM-labelled pairs', 'gold reward', 'KL k1'], rr),
      '',
    );
  }
}

function rmSection(r: ReportInput, out: string[]): void {
  const { cfg, res, eta, B } = r;
  out.push('## Reward models', '');
  out.push(
    'Agreement with r* is measured on HELD-OUT pairs: two π0 samples per pair on the test prompts (never labelled, never trained on), r* ties skipped. The neural ensembles also show their agreement on their own training pairs (optimistic).',
    '',
  );
  const rmRows: (string | number)[][] = [];
  for (const kind of ['seed', 'full'] as const) {
    const x = res.rms.filter((q) => q.kind === kind);
    if (!x.length) continue;
    rmRows.push([
      kind === 'seed'
        ? `neural RM seed (${cfg.labels.rmSeed} labels)`
        : `neural RM, full pool (${B} labels; RSO's ranker)`,
      fmt(meanCI95(x.map((q) => q.pairs)).mean, 4),
      '—',
      fmt(meanCI95(x.map((q) => q.goldAgreement)).mean),
    ]);
  }
  for (const k of onlineKeys(res)) {
    const rows = res.rows.filter(
      (q) => q.method === k && q.eta === eta && q.extra?.rmHeldOutAgreement !== undefined,
    );
    const its = [...new Set(rows.map((q) => q.iteration ?? 0))].sort((a, b) => a - b);
    for (const t of its) {
      const rr = rows.filter((q) => q.iteration === t);
      rmRows.push([
        `${label(k)}: RM ranking iteration ${t}`,
        fmt(
          meanOf(rr, (q) => Number(q.extra?.rmLabels ?? NaN)),
          4,
        ),
        ci(rr, (q) => Number(q.extra?.rmHeldOutAgreement)),
        '—',
      ]);
    }
  }
  out.push(
    mdTable(
      ['reward model', 'labels (pairs)', 'held-out agreement with r*', 'agreement on its training pairs'],
      rmRows,
    ),
    '',
  );
}

function sampleSection(r: ReportInput, out: string[]): void {
  const { fin } = r;
  // Examples
  out.push('## Samples (first test prompts, seed 0)', '');
  for (const k of ORDER) {
    const rows = fin.get(k)?.filter((r) => r.seed === 0);
    if (!rows?.length) continue;
    out.push(
      `- **${label(k)}**: ${rows[0].eval.examples
        .slice(0, 4)
        .map((e) => `“${e}”`)
        .join(' · ')}`,
    );
  }
  out.push('');
}

function timeSection(r: ReportInput, out: string[]): void {
  const { res } = r;
  // Time
  out.push('## Where the time went', '');
  out.push(
    `Wall time ${fmt(r.meta.wallSeconds, 3)} s (${fmt(r.meta.wallSeconds / 60, 3)} min)${r.meta.loadAverage ? `; 1-minute load average ${r.meta.loadAverage.join(' at the start, ')} at the end on this 2-core machine (shared: a load above 2 means other jobs took CPU from this run)` : ''}.`,
    '',
  );
  const st = Object.entries(res.stageSeconds).sort((a, b) => b[1] - a[1]);
  out.push(
    mdTable(
      ['stage kind', 'seconds (all seeds and η)'],
      st.map(([k, v]) => [k, fmt(v, 3)]),
    ),
    '',
  );
}

function selectionSection(r: ReportInput, out: string[]): void {
  const { cfg, res } = r;
  // Selections
  const critName =
    cfg.methods.iterative.selection === 'rm' ? 'mean RM reward r_RM' : 'RM objective r_RM − η·KL';
  out.push(`## Model selection (validation prompts, criterion: ${critName})`, '');
  const selRows: (string | number)[][] = res.selections.map((s) => [
    label(s.method),
    s.eta,
    s.seed,
    s.validation
      .map((v) => `it${v.iteration}: r_RM ${fmt(v.rm)}, KL ${fmt(v.kl)}, r_RM − η·KL ${fmt(v.objective)}`)
      .join('; '),
    s.selected,
  ]);
  out.push(mdTable(['method', 'η', 'seed', 'validation scores per iterate', 'selected'], selRows), '');
}

function notCovered(out: string[]): void {
  out.push('## Not covered here', '');
  out.push(
    '- The pairwise preference model, LLM-judge / AlpacaEval / MT-Bench evaluations, OOD prompts, the length-penalised RM (r − λ·|a|) and the n/2-at-temperature-0.7 sampling mix: not part of this miniature.',
    '- Absolute numbers are not comparable with the paper (a tiny byte-level GPT and a lexicon gold reward); only directions are compared.',
    '',
  );
}

export type { SelectionResult };
