/**
 * The LM report's longer sections: per-iteration rows, DPO's optimisation state, the pessimism
 * sweep (test and out-of-distribution prompts), the reward–KL frontiers with seed intervals, the
 * iteration plots, RSO details, reward models, samples, time and model selection.
 */
import { meanCI95 } from '../math/stats.js';
import { fmt, mdTable } from '../report/markdown.js';
import { linePlot, type Series } from '../report/svg.js';
import {
  ci,
  frontierMethods,
  frontierSeeds,
  frontierSummary,
  label,
  M,
  meanOf,
  methodOrder,
  onlineKeys,
} from './report-data.js';
import type { PolicyResult } from './methods/common.js';
import type { PipelineConfig } from './pipeline-config.js';
import type { ReproduceResults } from './results.js';
import type { ClaimVerdict } from './claims.js';

/** An SVG file of the report. */
export interface Svg {
  name: string;
  content: string;
}

export interface ReportInput {
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
  /** CPU seconds (user + system) of the run and its worker processes, summed over invocations. */
  cpuSeconds?: number;
}

export function iterationSection(r: ReportInput, out: string[]): void {
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

/** "6", or "4–6" when the points of a curve have different seed counts. */
function seedRange(ns: number[]): string {
  const [lo, hi] = [Math.min(...ns), Math.max(...ns)];
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

export function rewardKlSection(r: ReportInput, out: string[], svgs: Svg[]): void {
  const { cfg, res, fin, eta } = r;
  // (1) the frontiers over η, each per seed in KL order from π0, mean with 95% bars of r*; (2) every method at the main η.
  const series: Series[] = [];
  const fRows: (string | number)[][] = [];
  for (const k of frontierMethods(cfg)) {
    const pts = frontierSummary(cfg, res, k);
    if (!pts.length) continue;
    const n = frontierSeeds(cfg, k);
    const p0 = res.rows.filter((x) => x.method === 'pi0' && x.seed < n);
    const g0 = meanOf(p0, M.gold);
    series.push({
      label: `${label(k)} (${seedRange(pts.map((p) => p.n))} seeds)`,
      x: [0, ...pts.map((p) => p.kl.mean)],
      y: [g0, ...pts.map((p) => p.gold.mean)],
      lo: [g0, ...pts.map((p) => p.gold.lo)],
      hi: [g0, ...pts.map((p) => p.gold.hi)],
    });
    for (const p of pts)
      fRows.push([
        label(k),
        p.eta,
        `${fmt(p.kl.mean)} [${fmt(p.kl.lo)}, ${fmt(p.kl.hi)}]`,
        `${fmt(p.gold.mean)} [${fmt(p.gold.lo)}, ${fmt(p.gold.hi)}]`,
        p.n,
      ]);
  }
  svgs.push({
    name: 'reward-kl.svg',
    content: linePlot(series, {
      title: 'Reward–KL frontiers over η (mean over seeds, 95% band of r*)',
      xLabel: 'KL(π‖π0), k1 estimate (nats)',
      yLabel: 'mean gold reward r* on test prompts',
    }),
  });
  const pointSeries: Series[] = [];
  for (const k of methodOrder(fin)) {
    const rows = fin.get(k) ?? [];
    const g = meanCI95(rows.map(M.gold));
    pointSeries.push({
      label: `${label(k)} (${rows.length} seed${rows.length > 1 ? 's' : ''})`,
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
      title: `Methods at η = ${eta} (seeds per arm in the legend, 95% CI of r*)`,
      xLabel: 'KL(π‖π0), k1 estimate (nats)',
      yLabel: 'mean gold reward r* on test prompts',
    }),
  });
  const etas = [...new Set([eta, ...cfg.frontier.etas])].sort((a, b) => a - b).join(', ');
  out.push('## Reward–KL', '');
  out.push(
    `Left: every method at η = ${eta}, bars = 95% CI of the gold reward over that arm's seeds (the count is in the legend). Right: the frontier of each method over η ∈ {${etas}}, each point the mean over its seeds with a 95% band of r* (the table gives both intervals), joined in KL order from π0 at KL 0 — not in η order, which zigzags wherever KL is not monotone in η. The online method at each η is its validation-selected iterate; multi-step RSO at each η is the last stage of its schedule scaled to that η. The matched-KL and dominance claims above use each seed's own frontier.`,
    '',
    '![methods: reward vs KL](methods-reward-kl.svg) ![η frontiers: reward vs KL](reward-kl.svg)',
    '',
  );
  if (fRows.length)
    out.push(mdTable(['method', 'η', 'KL k1 [95% CI]', 'gold reward [95% CI]', 'seeds'], fRows), '');
}

/** DPO's optimisation state per method at the main η: epochs, final loss against its floor, convergence. */
export function dpoSection(r: ReportInput, out: string[]): void {
  const { cfg, res } = r;
  const c = cfg.dpo;
  const rows = res.rows.filter((x) => x.method !== 'pi0' && x.train.pairs > 0);
  if (!rows.length) return;
  const floor = rows[0].train.lossFloor ?? 0;
  out.push('## DPO optimisation', '');
  out.push(
    c.tol > 0
      ? `Every DPO run trains at a constant learning rate (${c.lr}, after warmup) until an epoch's mean loss is within **${c.tol} nats of the loss's floor** (${c.loss}${c.labelSmoothing ? `, ε = ${c.labelSmoothing}` : ''}: floor ${fmt(floor)} nats, the value with every pair at its optimal margin${c.labelSmoothing ? ' log((1−ε)/ε)/η' : ''}), or at most ${c.epochs} epochs. Why not the hard-label sigmoid loss: with one label per pair its infimum 0 is reached only as the margins grow without bound (in a test of 16 epochs it fell to 1e-4 while KL rose to 8–80 nats), so it has no solution to converge to and training length, not η, sets the KL. "gap" = final loss − floor (an upper bound on how far the empirical objective is from its optimum).`
      : `Every DPO run trains for a fixed ${c.epochs} epochs (cosine schedule, lr ${c.lr}); "gap" = final loss − the loss's floor.`,
    '',
  );
  const byKey = new Map<string, typeof rows>();
  for (const x of rows) {
    const k = `${x.method}|${x.eta}`;
    byKey.set(k, [...(byKey.get(k) ?? []), x]);
  }
  const table: (string | number)[][] = [];
  for (const [k, xs] of byKey) {
    const [m, e] = k.split('|');
    const conv = xs.filter((x) => x.train.converged).length;
    const f = (g: (x: (typeof xs)[number]) => number): string => fmt(meanCI95(xs.map(g)).mean);
    table.push([
      label(m),
      e,
      xs.length,
      f((x) => x.train.epochs ?? NaN),
      f((x) => x.train.finalLoss),
      f((x) => x.train.gap ?? NaN),
      f((x) => x.train.finalAccuracy),
      `${conv}/${xs.length}`,
      f((x) => x.eval.kl),
    ]);
  }
  out.push(
    mdTable(
      ['method', 'η', 'runs', 'epochs', 'final loss', 'gap to floor', 'train accuracy', 'converged', 'KL k1'],
      table,
    ),
    '',
  );
}

/** The pessimism arms (β sweep, Γ per token or per response) on the test and the OOD prompts, against offline DPO. */
export function pessimismSection(r: ReportInput, out: string[]): void {
  const { cfg, fin } = r;
  const keys = methodOrder(fin).filter((k) => k.startsWith('offline-dpo-pessimistic'));
  const off = fin.get('offline-dpo') ?? [];
  if (!keys.length || !off.length) return;
  const p = cfg.methods.pessimisticDpo;
  out.push('## Pessimism: β sweep, test and out-of-distribution prompts', '');
  out.push(
    `Offline DPO on the same B labels with the margin β·(Γ(a_w) − Γ(a_l)) inside the link; Γ(a) = ‖φ(a) − ν‖ in Σ⁻¹ of the linear RM's word counts${p.gamma === 'token' ? ", divided by the response's token count (per-token: a longer response is not penalised for its length)" : ' (per response: grows with length)'}. "OOD" = ${r.res.rows.find((x) => x.oodEval)?.oodEval?.n ?? 0} samples on prompts whose adjective occurs neither in the preference pool nor in the SFT corpus. Differences are paired per seed against offline DPO (95% CI).`,
    '',
  );
  const table: (string | number)[][] = [];
  const diff = (
    a: readonly PolicyResult[],
    b: readonly PolicyResult[],
    f: (x: PolicyResult) => number | undefined,
  ): string => {
    const bs = new Map(b.map((x) => [x.seed, x]));
    const d = a
      .filter((x) => bs.has(x.seed))
      .map((x) => [f(x), f(bs.get(x.seed) as PolicyResult)])
      .filter((v): v is [number, number] => v[0] !== undefined && v[1] !== undefined)
      .map(([u, v]) => u - v);
    if (d.length < 2) return '—';
    const c = meanCI95(d);
    return `${fmt(c.mean)} [${fmt(c.lo)}, ${fmt(c.hi)}]`;
  };
  for (const k of keys) {
    const rows = fin.get(k) ?? [];
    table.push([
      fmt(Number(rows[0]?.extra?.pessimismBeta)),
      rows.length,
      diff(rows, off, (x) => x.eval.gold_reward),
      diff(rows, off, (x) => x.eval.kl),
      diff(rows, off, (x) => x.eval.length_tokens),
      diff(rows, off, (x) => x.oodEval?.gold_reward),
      diff(rows, off, (x) => x.oodEval?.kl),
      diff(rows, off, (x) => x.oodEval?.length_tokens),
    ]);
  }
  out.push(
    mdTable(
      [
        'β',
        'seeds',
        'Δ gold (test)',
        'Δ KL (test)',
        'Δ length (test)',
        'Δ gold (OOD)',
        'Δ KL (OOD)',
        'Δ length (OOD)',
      ],
      table,
    ),
    '',
    `Offline DPO itself: gold ${ci(off, M.gold)} (test)${off[0]?.oodEval ? `, ${fmt(meanOf(off, (x) => x.oodEval?.gold_reward ?? NaN))} (OOD)` : ''}; length ${ci(off, M.len)} tokens.`,
    '',
  );
}

export function iterationPlots(r: ReportInput, out: string[], svgs: Svg[]): void {
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

export function rsoSection(r: ReportInput, out: string[]): void {
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

export function rmSection(r: ReportInput, out: string[]): void {
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

export function sampleSection(r: ReportInput, out: string[]): void {
  const { fin } = r;
  // Examples
  out.push('## Samples (first test prompts, seed 0)', '');
  for (const k of methodOrder(fin)) {
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

export function timeSection(r: ReportInput, out: string[]): void {
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

export function selectionSection(r: ReportInput, out: string[]): void {
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

export function notCovered(out: string[]): void {
  out.push('## Not covered here', '');
  out.push(
    '- The pairwise preference model, LLM-judge / AlpacaEval / MT-Bench evaluations, OOD prompts, the length-penalised RM (r − λ·|a|) and the n/2-at-temperature-0.7 sampling mix: not part of this miniature.',
    '- Absolute numbers are not comparable with the paper (a tiny byte-level GPT and a lexicon gold reward); only directions are compared.',
    '',
  );
}
