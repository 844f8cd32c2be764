/**
 * The report of `gshf lm reproduce`: setup, label accounting, each of the paper's claims beside the
 * measured verdict (./claims.ts), the method table (mean ± 95% CI over seeds, with each arm's real
 * seed count), DPO's optimisation state, the pessimism sweep, per-iteration rows, the reward–KL
 * frontiers and the rest (./report-sections.ts). Rendering only: every number comes from
 * ./report-data.ts and every verdict from ./claims.ts.
 */
import { fmt, mdTable } from '../report/markdown.js';
import { rsoFrontierSeeds, type PipelineConfig } from './pipeline-config.js';
import type { ReproduceResults } from './results.js';
import { judgeClaims, type ClaimVerdict } from './claims.js';
import { accountingOf, ci, finalRows, label, M, meanOf, methodOrder } from './report-data.js';
import {
  dpoSection,
  iterationPlots,
  iterationSection,
  notCovered,
  pessimismSection,
  rewardKlSection,
  rmSection,
  rsoSection,
  sampleSection,
  selectionSection,
  timeSection,
  type ReportInput,
  type ReportMeta,
  type Svg,
} from './report-sections.js';

export type { ReportMeta };

export type { ClaimVerdict };
export type { Verdict } from '../math/verdicts.js';
export { CLAIMS } from './claims.js';
export { finalRows } from './report-data.js';

export interface PrefReport {
  markdown: string;
  svgs: Svg[];
  verdicts: ClaimVerdict[];
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

/** The idle-machine estimate from CPU time: user + system seconds over the 2 cores. */
function cpuNote(meta: ReportMeta): string {
  if (meta.cpuSeconds === undefined) return '';
  return `; CPU time ${fmt(meta.cpuSeconds, 3)} s (user + system, all processes), i.e. about ${fmt(meta.cpuSeconds / 2, 3)} s of wall time on the idle 2-core machine`;
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
      `${cpuNote(meta)}. Up to ${res.seeds} seeds per arm (each table gives its arm's count); the η frontiers use ${cfg.frontier.enabled ? `${cfg.frontier.seeds} seed(s) (RSO and multi-step RSO: ${rsoFrontierSeeds(cfg)})` : 'no seeds (disabled)'}.`,
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
  dpoSection(r, out);
  pessimismSection(r, out);
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
    `- **fair** (ours): every label a method pays for trains its policy. Offline DPO trains on its ${B} labelled π0 pairs (\`seedS/pool/**\`). ${fair ? `The online loop's iteration 1 labels a random pair of π0 samples per prompt (the offline distribution, no reward model yet); later iterations label the enhancer's pair under the reward model refit on every label so far (no extra cost)` : `The online loop spends ${cfg.labels.rmSeed} labels on its first reward model (\`seedS/pool/seed/**\`, not trained on by pure online DPO) and one label per selected pair`} (\`seedS/<method>/itT/pI\`, at most ${cfg.labels.perIteration} per iteration; a prompt whose samples tie costs nothing). RSO and multi-step RSO: the ${B} labels of their reward model; their pairs are RM-labelled (free). Offline DPO with pessimism: the same ${B} labels as offline DPO.${cfg.methods.hybrid.enabled && fair && cfg.methods.hybrid.offline !== undefined ? ` The hybrid: ${cfg.methods.hybrid.offline} labelled π0 pairs of the pool (its offline data: DPO from π0 on them is its iterate 0), then ${cfg.methods.hybrid.iterations ?? T} online iterations sharing the other ${B - cfg.methods.hybrid.offline} labels.` : ''}`,
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
    `Verdict rules (src/math/verdicts.ts, on paired per-seed numbers): **supported** / **contradicted** when the 95% Student-t interval of the per-seed differences lies on one side of 0, **equivalent** when it lies inside ±${r.margin} r* (the stated equivalence margin, about ${fmt(r.margin * 5, 2)} AFINN points), "at least as well" claims by non-inferiority at −${r.margin}; "at comparable KL" by the difference at matched KL (each seed's two frontiers over η, anchored at its π0, interpolated at that KL) and by dominance along the frontier (an interval at every comparison point); "grows over iterations" by the per-seed least-squares slope; sample-level rates by their per-seed values (the seed is the unit: cluster-robust). An **inconclusive** verdict states the seeds a decision would need. A claim note ends with its status: *current* when the numbers it was written beside (fingerprint in brackets) are the numbers shown, **stale** when they changed.`,
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
    `## Methods at η = ${eta} (test prompts; mean ± 95% CI over each arm's seeds, given beside its accounting)`,
    '',
  );
  const rowsTable: (string | number)[][] = [];
  for (const k of methodOrder(fin)) {
    const rows = fin.get(k) ?? [];
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
