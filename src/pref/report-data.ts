/**
 * What the LM report's claims and its sections both read from a run's results: method names and
 * order, per-row metrics, the reported row of each method per seed, paired per-seed differences,
 * and the reward–KL frontiers over η (per seed, joined in KL order, anchored at π0) with the two
 * comparisons the paper's "at comparable KL" needs — dominance along the frontier and the
 * difference at matched KL by per-seed interpolation.
 */
import { interpolate, meanCI95 } from '../math/stats.js';
import { fmt, fmtCI } from '../report/markdown.js';
import { rsoFrontierSeeds, type PipelineConfig } from './pipeline-config.js';
import type { PolicyResult } from './methods/common.js';
import type { ReproduceResults } from './results.js';

const LABELS: Record<string, string> = {
  pi0: 'π0 (SFT)',
  'offline-dpo': 'offline DPO',
  rso: 'RSO',
  'multi-step-rso': 'multi-step RSO',
  'iterative-dpo-warm': 'iterative DPO (warm start, RLHF Workflow)',
  'iterative-dpo-retrain': 'iterative DPO (retrain from π0, ICML)',
  uncertainty: 'iterative DPO + uncertainty enhancer',
  hybrid: 'hybrid (offline data, then online)',
  'iterative-dpo-warm-neural': 'iterative DPO (warm start), neural RM',
  'iterative-dpo-warm-linear': 'iterative DPO (warm start), linear RM',
  'iterative-dpo-retrain-neural': 'iterative DPO (retrain), neural RM',
  'uncertainty-neural': 'iterative DPO + uncertainty enhancer, neural RM',
  'offline-dpo-pessimistic': 'offline DPO + pessimism (GSHF Option II margin)',
  'offline-dpo-proxy': 'offline DPO, proxy-labelled',
  'iterative-dpo-proxy': 'iterative DPO (warm start), proxy-labelled',
};

/** Method table order (methods not listed follow in the order they appear). */
export const ORDER = [
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

export function label(m: string): string {
  const b = /^offline-dpo-pessimistic-b(.+)$/.exec(m);
  if (b) return `offline DPO + pessimism, β = ${b[1]}`;
  return LABELS[m] ?? m;
}

/** Every method with a reported row, in table order. */
export function methodOrder(fin: Map<string, PolicyResult[]>): string[] {
  const extra = [...fin.keys()].filter((k) => !ORDER.includes(k)).sort();
  const out: string[] = [];
  for (const k of ORDER) {
    if (fin.has(k)) out.push(k);
    if (k === 'offline-dpo-pessimistic') out.push(...extra.filter((e) => e.startsWith(`${k}-`)));
  }
  return [...out, ...extra.filter((e) => !out.includes(e))];
}

/** Online methods present in the results, in table order. */
export function onlineKeys(res: ReproduceResults): string[] {
  const have = new Set(res.selections.map((s) => s.method));
  return [...ORDER.filter((k) => have.has(k)), ...[...have].filter((k) => !ORDER.includes(k))];
}

/** The label accounting of a method's rows. */
export function accountingOf(method: string): string {
  if (method === 'pi0') return '—';
  if (method.endsWith('-proxy')) return "papers' (proxy RM labels)";
  return 'fair (oracle, B labels)';
}

export type Metric = (r: PolicyResult) => number;
export const M = {
  gold: (r) => r.eval.gold_reward,
  kl: (r) => r.eval.kl,
  k3: (r) => r.eval.kl_k3,
  win: (r) => r.eval.win_rate,
  len: (r) => r.eval.length_tokens,
  d2: (r) => r.eval.distinct_2,
  rep: (r) => r.eval.repeat_rate,
  labels: (r) => r.labelsUsed,
} satisfies Record<string, Metric>;

/** "mean ± 95% half-width" over rows (one per seed); the bare mean for a single row. */
export function ci(rows: readonly PolicyResult[], f: Metric, digits = 3): string {
  if (rows.length === 0) return '—';
  const c = meanCI95(rows.map(f));
  return rows.length > 1 ? fmtCI(c.mean, c.halfWidth, digits) : fmt(c.mean, digits);
}

export function meanOf(rows: readonly PolicyResult[], f: Metric): number {
  return rows.length ? meanCI95(rows.map(f)).mean : NaN;
}

/** Per-seed differences f(a) − f(b) over the seeds both have. */
export function paired(a: readonly PolicyResult[], b: readonly PolicyResult[], f: Metric): number[] {
  const bs = new Map(b.map((r) => [r.seed, r]));
  return a.filter((r) => bs.has(r.seed)).map((r) => f(r) - f(bs.get(r.seed) as PolicyResult));
}

const SINGLE = new Set(['pi0', 'offline-dpo', 'rso', 'offline-dpo-proxy']);
const isSingle = (m: string): boolean => SINGLE.has(m) || m.startsWith('offline-dpo-pessimistic');

/** The reported row of method `m` for (seed, η): the row itself, the last multi-step stage, or the selected iterate. */
function reportedRow(
  cfg: PipelineConfig,
  res: ReproduceResults,
  m: string,
  seed: number,
  eta: number,
): PolicyResult | undefined {
  const at = (r: PolicyResult): boolean => r.method === m && r.seed === seed && r.eta === eta;
  if (isSingle(m)) return res.rows.find(at);
  if (m === 'multi-step-rso') {
    const n = cfg.methods.multiStepRso.etas.length;
    return res.rows.find((r) => at(r) && r.iteration === n);
  }
  const sel = res.selections.find((x) => x.method === m && x.seed === seed && x.eta === eta);
  const row = sel && res.rows.find((r) => at(r) && r.iteration === sel.selected);
  return row && sel ? { ...row, labelsUsed: sel.labelsUsed } : undefined;
}

/** The reported row of each method at the main η, one per seed (online methods: the validation-selected iterate). */
export function finalRows(cfg: PipelineConfig, res: ReproduceResults): Map<string, PolicyResult[]> {
  const eta = cfg.dpo.eta;
  const out = new Map<string, PolicyResult[]>();
  const keys = new Set(res.rows.filter((r) => r.eta === eta).map((r) => r.method));
  for (const m of keys) {
    const seeds = [...new Set(res.rows.filter((r) => r.method === m && r.eta === eta).map((r) => r.seed))];
    const rows = seeds
      .sort((a, b) => a - b)
      .map((s) => reportedRow(cfg, res, m, s, eta))
      .filter((r): r is PolicyResult => r !== undefined);
    if (rows.length) out.set(m, rows);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reward–KL frontiers over η

export interface FrontierPoint {
  eta: number;
  kl: number;
  gold: number;
}

/** Methods with a frontier over η in this config (multi-step RSO: rerun per η, or its stage path). */
export function frontierMethods(cfg: PipelineConfig): string[] {
  const m: string[] = [...cfg.frontier.methods];
  if (cfg.methods.multiStepRso.enabled && !m.includes('multi-step-rso')) m.push('multi-step-rso');
  return cfg.frontier.enabled ? m : [];
}

export function frontierSeeds(cfg: PipelineConfig, m: string): number {
  return m === 'rso' || m === 'multi-step-rso' ? rsoFrontierSeeds(cfg) : cfg.frontier.seeds;
}

/**
 * Seed `seed`'s frontier of method `m`: its reported point at every η, sorted by KL (not by η: a
 * curve joined in η order zigzags wherever KL is not monotone in η). Multi-step RSO without its own
 * η sweep uses its stage path (stage i = multi-step RSO with target η_i).
 */
export function seedFrontier(
  cfg: PipelineConfig,
  res: ReproduceResults,
  m: string,
  seed: number,
): FrontierPoint[] {
  let pts: FrontierPoint[];
  if (m === 'multi-step-rso' && !cfg.frontier.methods.includes('multi-step-rso')) {
    pts = res.rows
      .filter((r) => r.method === m && r.eta === cfg.dpo.eta && r.seed === seed)
      .map((r) => ({ eta: Number(r.extra?.stageEta), kl: M.kl(r), gold: M.gold(r) }));
  } else {
    const etas = [...new Set([cfg.dpo.eta, ...cfg.frontier.etas])];
    pts = etas
      .map((eta) => ({ eta, row: reportedRow(cfg, res, m, seed, eta) }))
      .filter((x): x is { eta: number; row: PolicyResult } => x.row !== undefined)
      .map((x) => ({ eta: x.eta, kl: M.kl(x.row), gold: M.gold(x.row) }));
  }
  return pts.sort((a, b) => a.kl - b.kl);
}

/** π0's gold reward on seed `seed` (the frontier's KL = 0 anchor). */
export function pi0Gold(res: ReproduceResults, seed: number): number | undefined {
  const r = res.rows.find((x) => x.method === 'pi0' && x.seed === seed);
  return r ? M.gold(r) : undefined;
}

export interface FrontierSummaryPoint {
  eta: number;
  n: number;
  kl: { mean: number; lo: number; hi: number };
  gold: { mean: number; lo: number; hi: number };
}

/** Mean frontier of method `m` over its frontier seeds: per η, KL and gold with 95% intervals, in KL order. */
export function frontierSummary(
  cfg: PipelineConfig,
  res: ReproduceResults,
  m: string,
): FrontierSummaryPoint[] {
  const byEta = new Map<number, FrontierPoint[]>();
  for (let s = 0; s < frontierSeeds(cfg, m); s++)
    for (const p of seedFrontier(cfg, res, m, s)) byEta.set(p.eta, [...(byEta.get(p.eta) ?? []), p]);
  const iv = (xs: number[]): { mean: number; lo: number; hi: number } => {
    const c = meanCI95(xs);
    return xs.length > 1 ? { mean: c.mean, lo: c.lo, hi: c.hi } : { mean: c.mean, lo: c.mean, hi: c.mean };
  };
  return [...byEta.entries()]
    .map(([eta, ps]) => ({ eta, n: ps.length, kl: iv(ps.map((p) => p.kl)), gold: iv(ps.map((p) => p.gold)) }))
    .sort((a, b) => a.kl.mean - b.kl.mean);
}

/** Gold reward of a curve (anchored at π0, sorted by KL) at `kl`; null outside its KL range. */
export function goldAt(curve: readonly { kl: number; gold: number }[], kl: number): number | null {
  return interpolate(
    curve,
    kl,
    (p) => p.kl,
    (p) => p.gold,
  );
}

/**
 * `a` above `b` point by point (both reward vs KL, sharing π0 at KL 0): entry k is the margin at
 * point k — b's points first (a interpolated at b's KL minus b), then a's (a minus b interpolated,
 * or minus b's best reward where a reaches beyond b's KL range: b cannot go further) — and null
 * where a point lies outside the other curve's range, so that several seeds pair point by point.
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

/**
 * The difference a − b at matched KL `kl`, per seed: each seed's two frontiers (anchored at its π0)
 * interpolated at `kl`; seeds where either curve does not reach `kl` are left out (counted).
 */
export function matchedKlDiffs(
  cfg: PipelineConfig,
  res: ReproduceResults,
  a: string,
  b: string,
  kl: number,
): { diffs: number[]; outOfRange: number } {
  const diffs: number[] = [];
  let outOfRange = 0;
  const seeds = Math.min(frontierSeeds(cfg, a), frontierSeeds(cfg, b));
  for (let s = 0; s < seeds; s++) {
    const g0 = pi0Gold(res, s);
    const A = seedFrontier(cfg, res, a, s);
    const B = seedFrontier(cfg, res, b, s);
    if (g0 === undefined || !A.length || !B.length) continue;
    const anchor = { kl: 0, gold: g0 };
    const ga = goldAt([anchor, ...A], kl);
    const gb = goldAt([anchor, ...B], kl);
    if (ga === null || gb === null) outOfRange++;
    else diffs.push(ga - gb);
  }
  return { diffs, outOfRange };
}
