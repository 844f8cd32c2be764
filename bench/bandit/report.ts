/**
 * Merges the per-group result files of run.sh (bench/out/bandit.parts/*.json), checks that gshf and
 * numpy computed the same thing, and writes bench/out/bandit.json and bench/out/bandit.md.
 *
 * Parts: gshf-<kind>-d<D>.json (default build: native dsyrk if loaded), numpy-<kind>-d<D>.json
 * (OpenBLAS default threads), optional gshf-ts-… (GSHF_NO_NATIVE=1) and numpy-1t-…
 * (OPENBLAS_NUM_THREADS=1). busy.tsv: other-process CPU load seen right before each part.
 * Usage: node dist/bench/bandit/report.js
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUT_DIR, readManifest, type Timing } from './common.js';

const PARTS = join(OUT_DIR, 'bandit.parts');

interface FitRow {
  d: number;
  n: number;
  incl_dphi: Timing;
  excl_dphi: Timing;
  dphi_only: Timing;
  theta: number[];
  iterations: number;
  gradNorm: number;
  native_dsyrk?: boolean;
}
interface EvalRow {
  d: number;
  C: number;
  K: number;
  timing: Timing;
  J: number;
  klRef: number;
  gap: number;
  suboptimality: number;
  klStarToHat: number;
  jStar: number;
}
interface Part {
  meta: Record<string, unknown>;
  fit: FitRow[];
  evaluate: EvalRow[];
}

function loadSide(prefix: string): { metas: Record<string, unknown>[]; fit: FitRow[]; evaluate: EvalRow[] } {
  const metas: Record<string, unknown>[] = [];
  const fit: FitRow[] = [];
  const evaluate: EvalRow[] = [];
  if (!existsSync(PARTS)) return { metas, fit, evaluate };
  const re = new RegExp(`^${prefix}-(fit|evaluate)-d\\d+\\.json$`);
  for (const f of readdirSync(PARTS).sort()) {
    if (!re.test(f)) continue;
    const p = JSON.parse(readFileSync(join(PARTS, f), 'utf8')) as Part;
    const log = join(PARTS, f.replace(/\.json$/, '.log'));
    const cores = existsSync(log)
      ? [...new Set((readFileSync(log, 'utf8').match(/Core: \S+/g) ?? []).map((c) => c.slice(6)))]
      : [];
    metas.push({ part: f, ...p.meta, openblas_verbose_core: cores });
    fit.push(...p.fit);
    evaluate.push(...p.evaluate);
  }
  return { metas, fit, evaluate };
}

const fmt = (ms: number | undefined): string =>
  ms === undefined
    ? '–'
    : ms >= 100
      ? ms.toFixed(0)
      : ms >= 10
        ? ms.toFixed(1)
        : ms >= 1
          ? ms.toFixed(2)
          : ms.toFixed(3);
const ratio = (np: number | undefined, g: number | undefined): number | undefined =>
  np === undefined || g === undefined ? undefined : np / g;
const fr = (r: number | undefined): string => (r === undefined ? '–' : r >= 10 ? r.toFixed(1) : r.toFixed(2));
const pow10 = (n: number): string => {
  const e = Math.log10(n);
  return Number.isInteger(e) ? `10^${e}` : String(n);
};

function goalOf(d: number, r: number | undefined): string {
  if (r === undefined) return '–';
  const need = d <= 32 ? 5 : 1;
  return r >= need ? 'yes' : `NO (need ≥${need}×)`;
}

function main(): void {
  const manifest = readManifest();
  const g = loadSide('gshf');
  const n = loadSide('numpy');
  const gts = loadSide('gshf-ts');
  const n1 = loadSide('numpy-1t');
  const busyPath = join(PARTS, 'busy.tsv');
  const busy = existsSync(busyPath)
    ? readFileSync(busyPath, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l)
        .map((l) => {
          const [part, cores, waited] = l.split('\t');
          return { part, other_busy_cores: Number(cores), waited_s: Number(waited) };
        })
    : [];
  const key = (d: number, m: number): string => `${d}/${m}`;
  const byFit = <T extends { d: number; n: number }>(rows: T[]): Map<string, T> =>
    new Map(rows.map((r) => [key(r.d, r.n), r]));
  const byEval = <T extends { d: number; C: number }>(rows: T[]): Map<string, T> =>
    new Map(rows.map((r) => [key(r.d, r.C), r]));
  const nFit = byFit(n.fit);
  const tsFit = byFit(gts.fit);
  const n1Fit = byFit(n1.fit);
  const nEval = byEval(n.evaluate);
  const tsEval = byEval(gts.evaluate);
  const n1Eval = byEval(n1.evaluate);

  const fitRows = g.fit
    .map((r) => {
      const o = nFit.get(key(r.d, r.n));
      // θ check against the 2-thread numpy fit, or the 1-thread one where the former was skipped.
      const oth = o ?? n1Fit.get(key(r.d, r.n));
      let maxAbs: number | undefined;
      if (oth) {
        maxAbs = 0;
        for (let j = 0; j < r.d; j++) maxAbs = Math.max(maxAbs, Math.abs(r.theta[j] - oth.theta[j]));
      }
      return {
        d: r.d,
        n: r.n,
        gshf_incl_ms: r.incl_dphi.ms,
        numpy_incl_ms: o?.incl_dphi.ms,
        ratio_incl: ratio(o?.incl_dphi.ms, r.incl_dphi.ms),
        gshf_excl_ms: r.excl_dphi.ms,
        numpy_excl_ms: o?.excl_dphi.ms,
        ratio_excl: ratio(o?.excl_dphi.ms, r.excl_dphi.ms),
        ratio_incl_min: ratio(o?.incl_dphi.min_ms, r.incl_dphi.min_ms),
        ratio_excl_min: ratio(o?.excl_dphi.min_ms, r.excl_dphi.min_ms),
        gshf_dphi_ms: r.dphi_only.ms,
        numpy_dphi_ms: o?.dphi_only.ms,
        gshf_ts_excl_ms: tsFit.get(key(r.d, r.n))?.excl_dphi.ms,
        numpy_1t_excl_ms: n1Fit.get(key(r.d, r.n))?.excl_dphi.ms,
        ratio_excl_1t: ratio(n1Fit.get(key(r.d, r.n))?.excl_dphi.ms, r.excl_dphi.ms),
        iterations_gshf: r.iterations,
        iterations_numpy: o?.iterations,
        gradNorm_gshf: r.gradNorm,
        gradNorm_numpy: o?.gradNorm,
        native_dsyrk: r.native_dsyrk ?? false,
        theta_max_abs_diff: maxAbs,
        theta_agree_1e8: maxAbs !== undefined && maxAbs <= 1e-8,
      };
    })
    .sort((a, b) => a.d - b.d || a.n - b.n);

  const evalRows = g.evaluate
    .map((r) => {
      const o = nEval.get(key(r.d, r.C));
      let maxRel: number | undefined;
      if (o) {
        maxRel = 0;
        for (const k of ['J', 'klRef', 'gap', 'suboptimality', 'klStarToHat', 'jStar'] as const)
          maxRel = Math.max(maxRel, Math.abs(r[k] - o[k]) / Math.max(Math.abs(r[k]), 1e-300));
      }
      return {
        d: r.d,
        C: r.C,
        K: r.K,
        gshf_ms: r.timing.ms,
        numpy_ms: o?.timing.ms,
        ratio: ratio(o?.timing.ms, r.timing.ms),
        ratio_min: ratio(o?.timing.min_ms, r.timing.min_ms),
        gshf_ts_ms: tsEval.get(key(r.d, r.C))?.timing.ms,
        numpy_1t_ms: n1Eval.get(key(r.d, r.C))?.timing.ms,
        ratio_1t: ratio(n1Eval.get(key(r.d, r.C))?.timing.ms, r.timing.ms),
        J: r.J,
        klRef: r.klRef,
        gap: r.gap,
        max_rel_diff: maxRel,
        agree_1e10: maxRel !== undefined && maxRel <= 1e-10,
      };
    })
    .sort((a, b) => a.d - b.d || a.C - b.C);

  const allRatios = [
    ...fitRows.flatMap((r) => [
      { d: r.d, r: r.ratio_incl },
      { d: r.d, r: r.ratio_excl },
    ]),
    ...evalRows.map((r) => ({ d: r.d, r: r.ratio })),
  ].filter((x) => x.r !== undefined);
  const met = allRatios.filter((x) => goalOf(x.d, x.r) === 'yes').length;

  const gm = (g.metas[0] ?? {}) as Record<string, unknown>;
  const nm = (n.metas[0] ?? {}) as Record<string, unknown>;
  const nBlas = (nm.blas ?? {}) as Record<string, unknown>;
  const nCores = [...new Set(n.metas.flatMap((m) => m.openblas_verbose_core as string[]))];
  const gCores = [...new Set(g.metas.flatMap((m) => m.openblas_verbose_core as string[]))];
  const maxBusy = busy.length ? Math.max(...busy.map((b) => b.other_busy_cores)) : undefined;
  const fitSet = manifest.fit[0];

  const md: string[] = [];
  md.push('## Bandit lab: gshf vs numpy (fit + evaluate)');
  md.push('');
  md.push(
    `Ratio = numpy ms / gshf ms (> 1: gshf faster). Median of ≥ 5 timed runs after 1 warm-up (up to 30 runs while the total is < 0.5 s), ` +
      `both sides in one \`bench/bandit/run.sh\` run, alternating gshf / numpy per group. Goal: ratio ≥ 1 everywhere and ≥ 5 where d ≤ 32 — ` +
      `**met in ${met} of ${allRatios.length} cells**.`,
  );
  md.push('');
  md.push(
    `- gshf: Node ${String(gm.node)}, TypeScript single-threaded; native addon ${gm.native_loaded ? `loaded (${String(gm.native_describe)}, OpenBLAS core ${gCores.join(', ') || '?'})` : `NOT loaded (${String(gm.native_error)})`}. ` +
      (gm.native_loaded
        ? `fitMLE runs the native Newton solver (native/src/mle.c: one fused pass over Δφ per iteration, vectorised exp/log1p, single-threaded dsyrk Hessian blocks from d = 16, passes split over ${String(gm.native_blas_threads ?? '?')} threads when n·d(d+3)/2 ≥ 2e6); the "dsyrk" column only applies to the pure-TS solver.`
        : `fitMLE's Hessian uses the native dsyrk when n·d² ≥ ${String(gm.native_syrk_min_work)} (column "dsyrk").`),
  );
  md.push(
    `- numpy ${String(nm.numpy)} (Python ${String(nm.python)}, ${String(nBlas.name)} ${String(nBlas.version ?? '')}), ` +
      `OpenBLAS core ${nCores.join(', ') || '?'} with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, default threads = 2 (both cores).`,
  );
  md.push(
    `- fit: ridge BT-MLE, λ = ${fitSet?.lambda}, Newton from θ = 0 with Armijo backtracking (c = 1e-4, halving), stop at ‖∇L‖₂ ≤ ${fitSet?.tol}·n; ` +
      `data: generateEnv (${fitSet?.nContexts} contexts × ${fitSet?.K} actions, ‖φ‖ = 1, ‖θ*‖ = 3), pairs from uniform a1, a2 with BT labels; the first n pairs. ` +
      `"incl Δφ" times fitMLE(env, pairs, opts) / numpy fancy indexing + Newton; "excl Δφ" passes the precomputed n×d Δφ (fitMLE({dphi, n, d}, opts)).`,
  );
  md.push(
    `- evaluate: Gibbs π̂ ∝ π0·exp(⟨θ̂,φ⟩/η) (log-sum-exp), J(π̂) under r*, KL(π̂‖π0), gap = J(π*) − J(π̂) + η·E KL(π*‖π̂); ` +
      `gshf: gibbsOfTheta + trueRewards + objective + klToRef + gapMetric; numpy: vectorised over (C, K, d), K = ${manifest.evaluate[0]?.K}, η = ${manifest.evaluate[0]?.eta}.`,
  );
  md.push(
    `- "goal" judges the median ratios; "fastest runs" = min numpy ms / min gshf ms (less sensitive to other load). ` +
      `"–" = not run: a case whose projected cost (previous size's median × size ratio × 12 calls) exceeds BANDIT_CASE_BUDGET_S (120 s) is skipped, on either side; the pure-TS column also skips n·d² > 2e9. ` +
      `Process niceness: gshf ${String(gm.nice)}, numpy ${String(nm.nice)}. Extra columns: gshf with GSHF_NO_NATIVE=1 (pure TS), numpy with OPENBLAS_NUM_THREADS=1.`,
  );
  if (maxBusy !== undefined)
    md.push(
      `- Shared machine (2 cores): other processes' CPU use measured for 1 s before each part, max ${maxBusy.toFixed(2)} cores ` +
        `(run.sh waits up to its limit for < 0.3); see bandit.json "busy".`,
    );
  const gitPath = join(PARTS, 'git.txt');
  if (existsSync(gitPath)) {
    const lines = readFileSync(gitPath, 'utf8').trim().split('\n');
    md.push(
      `- Library code measured: HEAD ${lines[0]?.slice(0, 10) ?? '?'}${
        lines.length > 1
          ? ` with uncommitted changes in ${lines
              .slice(1)
              .map((l) => l.slice(3))
              .join(', ')}`
          : ''
      } (bench/out/bandit.parts/git.txt).`,
    );
  }
  md.push('');
  const hasTs = fitRows.some((r) => r.gshf_ts_excl_ms !== undefined);
  const hasN1 = fitRows.some((r) => r.numpy_1t_excl_ms !== undefined);
  md.push('### fit (ridge Bradley–Terry MLE)');
  md.push('');
  const fh = [
    'd',
    'n',
    'gshf ms incl Δφ',
    'numpy ms incl Δφ',
    'ratio incl',
    'gshf ms excl Δφ',
    'numpy ms excl Δφ',
    'ratio excl',
  ];
  if (hasTs) fh.push('gshf pure-TS ms excl');
  if (hasN1) fh.push('numpy 1-thread ms excl', 'ratio excl vs 1-thread');
  fh.push('ratio incl / excl, fastest runs', 'iters g/np', 'dsyrk', 'max abs Δθ', 'goal');
  md.push(`| ${fh.join(' | ')} |`);
  md.push(`|${fh.map(() => '---').join('|')}|`);
  for (const r of fitRows) {
    const cells = [
      String(r.d),
      pow10(r.n),
      fmt(r.gshf_incl_ms),
      fmt(r.numpy_incl_ms),
      fr(r.ratio_incl),
      fmt(r.gshf_excl_ms),
      fmt(r.numpy_excl_ms),
      fr(r.ratio_excl),
    ];
    if (hasTs) cells.push(fmt(r.gshf_ts_excl_ms));
    if (hasN1) cells.push(fmt(r.numpy_1t_excl_ms), fr(r.ratio_excl_1t));
    const worst = Math.min(r.ratio_incl ?? Infinity, r.ratio_excl ?? Infinity);
    cells.push(
      `${fr(r.ratio_incl_min)} / ${fr(r.ratio_excl_min)}`,
      `${r.iterations_gshf}/${r.iterations_numpy ?? '–'}`,
      r.native_dsyrk ? 'yes' : 'no',
      r.theta_max_abs_diff === undefined ? '–' : r.theta_max_abs_diff.toExponential(1),
      goalOf(r.d, Number.isFinite(worst) ? worst : undefined),
    );
    md.push(`| ${cells.join(' | ')} |`);
  }
  md.push('');
  md.push('### evaluate (exact Gibbs policy, J, KL, gap)');
  md.push('');
  const hasTsE = evalRows.some((r) => r.gshf_ts_ms !== undefined);
  const hasN1E = evalRows.some((r) => r.numpy_1t_ms !== undefined);
  const eh = ['d', 'contexts × actions', 'gshf ms', 'numpy ms', 'ratio'];
  if (hasTsE) eh.push('gshf pure-TS ms');
  if (hasN1E) eh.push('numpy 1-thread ms', 'ratio vs 1-thread');
  eh.push('ratio, fastest runs', 'max rel diff (J, KL, gap, …)', 'goal');
  md.push(`| ${eh.join(' | ')} |`);
  md.push(`|${eh.map(() => '---').join('|')}|`);
  for (const r of evalRows) {
    const cells = [String(r.d), `${pow10(r.C)} × ${r.K}`, fmt(r.gshf_ms), fmt(r.numpy_ms), fr(r.ratio)];
    if (hasTsE) cells.push(fmt(r.gshf_ts_ms));
    if (hasN1E) cells.push(fmt(r.numpy_1t_ms), fr(r.ratio_1t));
    cells.push(
      fr(r.ratio_min),
      r.max_rel_diff === undefined ? '–' : r.max_rel_diff.toExponential(1),
      goalOf(r.d, r.ratio),
    );
    md.push(`| ${cells.join(' | ')} |`);
  }
  md.push('');
  const badTheta = fitRows.filter((r) => r.theta_max_abs_diff !== undefined && !r.theta_agree_1e8);
  const checked = fitRows.filter((r) => r.theta_max_abs_diff !== undefined).length;
  const badEval = evalRows.filter((r) => !r.agree_1e10);
  md.push(
    `Agreement: θ max |Δ| ≤ 1e-8 in ${checked - badTheta.length}/${checked} fits (vs the 2-thread numpy θ, or the 1-thread one where that was skipped)` +
      (badTheta.length ? ` (not: ${badTheta.map((r) => `d=${r.d} n=${r.n}`).join(', ')})` : '') +
      `; evaluate rel diff ≤ 1e-10 in ${evalRows.length - badEval.length}/${evalRows.length}` +
      (badEval.length ? ` (not: ${badEval.map((r) => `d=${r.d} C=${r.C}`).join(', ')})` : '') +
      '.',
  );
  md.push('');
  writeFileSync(join(OUT_DIR, 'bandit.md'), md.join('\n'));
  writeFileSync(
    join(OUT_DIR, 'bandit.json'),
    JSON.stringify(
      {
        generated: new Date().toISOString(),
        goal: { met, cells: allRatios.length, rule: 'numpy/gshf ≥ 1 everywhere, ≥ 5 where d ≤ 32' },
        meta: { gshf: g.metas, gshf_ts: gts.metas, numpy: n.metas, numpy_1t: n1.metas },
        busy,
        fit: fitRows,
        evaluate: evalRows,
      },
      null,
      1,
    ),
  );
  process.stderr.write(`report: wrote ${join(OUT_DIR, 'bandit.md')} and bandit.json\n`);
}

main();
