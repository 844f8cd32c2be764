/**
 * The offline side, per seed: the labelled pool of π0 pairs (the human-label budget of the offline
 * methods), the reward-model ensembles trained on it, offline DPO, RSO and multi-step RSO.
 *
 * Pool: the offline prompt set (B = rmSeed + T·m prompts, disjoint from validation and test), two
 * π0 samples per prompt, one oracle label each. Ledger ids `seedS/pool/seed/pI` (the first rmSeed
 * prompts: the online methods' RM seed set, also the hybrid's offline data) and `seedS/pool/rest/pI`.
 */
import { Rng } from '../../math/rng.js';
import { rejectionSampleIndices, sequentialRejectionSample } from '../sampling.js';
import {
  assertBudget,
  dpo,
  ensembleScorer,
  evaluatePolicy,
  oodEvaluation,
  loadEnsemble,
  loadPairs,
  loadPolicy,
  runStage,
  runTag,
  samplePolicy,
  savePairs,
  savePolicy,
  seedTag,
  trainEnsembleStage,
  type Ctx,
  type PolicyResult,
  type Resp,
  type ResponseScorer,
  type RmStageResult,
  type StoredPair,
} from './common.js';
import { labelBudget, type PipelineConfig } from '../pipeline-config.js';
import { LinearRewardModel } from '../linear-rm.js';
import { pessimisticOffsets } from '../losses.js';

export interface PoolResult {
  seedPairs: number;
  restPairs: number;
  /** Prompts whose two samples were identical (no query asked). */
  ties: number;
  labels: number;
}

export function poolStageId(s: number): string {
  return `${seedTag(s)}/pool`;
}
export function rmSeedStageId(s: number): string {
  return `${seedTag(s)}/rm-seed`;
}
export function rmFullStageId(s: number): string {
  return `${seedTag(s)}/rm-full`;
}

/** Samples and labels the pool (B oracle queries at most). */
export function runPool(ctx: Ctx, s: number): PoolResult {
  return runStage(ctx, poolStageId(s), (dir) => {
    const { cfg, split } = ctx;
    const T = cfg.methods.iterative.iterations;
    const m = cfg.labels.perIteration;
    // splitPrompts puts the iteration prompts first in `offline`; the seed part is what follows.
    const restPrompts = split.offline.slice(0, T * m);
    const seedPrompts = split.offline.slice(T * m);
    const label = (prompts: string[], part: string): { pairs: StoredPair[]; ties: number } => {
      const samples = samplePolicy(ctx, ctx.pi0, prompts, 2, `${cfg.seed}/${seedTag(s)}/pool/${part}`);
      const pairs: StoredPair[] = [];
      let ties = 0;
      samples.forEach(([a, b], i) => {
        if (a.text === b.text) {
          ties++;
          return;
        }
        const qid = `${seedTag(s)}/pool/${part}/p${i}`;
        const aWins = ctx.ask(prompts[i], a.text, b.text, qid);
        pairs.push({ prompt: prompts[i], chosen: aWins ? a : b, rejected: aWins ? b : a, qid });
      });
      return { pairs, ties };
    };
    const sp = label(seedPrompts, 'seed');
    const rp = label(restPrompts, 'rest');
    savePairs(dir, 'seed.json', sp.pairs);
    savePairs(dir, 'rest.json', rp.pairs);
    return {
      seedPairs: sp.pairs.length,
      restPairs: rp.pairs.length,
      ties: sp.ties + rp.ties,
      labels: ctx.ledger.labelsBy(`${seedTag(s)}/pool`),
    };
  });
}

export function poolPairs(ctx: Ctx, s: number, part: 'seed' | 'rest' | 'all'): StoredPair[] {
  if (part === 'all')
    return [...loadPairs(ctx, poolStageId(s), 'seed.json'), ...loadPairs(ctx, poolStageId(s), 'rest.json')];
  return loadPairs(ctx, poolStageId(s), `${part}.json`);
}

/** RM ensemble on the seed part (rmSeed labels): the online methods' first RM. */
export function runRmSeed(ctx: Ctx, s: number): RmStageResult {
  return runStage(ctx, rmSeedStageId(s), (dir) =>
    trainEnsembleStage(ctx, dir, poolPairs(ctx, s, 'seed'), `${ctx.cfg.seed}/${seedTag(s)}/rm-seed`, [
      `${seedTag(s)}/pool/seed`,
    ]),
  );
}

/** RM ensemble on the whole pool (B labels): RSO's ranker, and the RM label source. */
export function runRmFull(ctx: Ctx, s: number): RmStageResult {
  return runStage(ctx, rmFullStageId(s), (dir) =>
    trainEnsembleStage(ctx, dir, poolPairs(ctx, s, 'all'), `${ctx.cfg.seed}/${seedTag(s)}/rm-full`, [
      `${seedTag(s)}/pool`,
    ]),
  );
}

/** Offline DPO on the whole labelled pool (B oracle labels of π0 pairs). */
export function runOfflineDpo(ctx: Ctx, s: number, eta: number): PolicyResult {
  const tag = runTag(ctx, s, eta);
  const id = `${tag}/offline-dpo`;
  return runStage(ctx, id, (dir) => {
    const pairs = poolPairs(ctx, s, 'all');
    const policy = ctx.pi0.clone();
    const train = dpo(ctx, policy, pairs, eta, `${ctx.cfg.seed}/${id}/dpo`);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    const budget = labelBudget(ctx.cfg);
    const used = assertBudget(ctx, 'offline-dpo', [`${seedTag(s)}/pool`], budget);
    return {
      method: 'offline-dpo',
      seed: s,
      eta,
      labelsUsed: used,
      budget,
      eval: evaluatePolicy(ctx, policy, s),
      ...(eta === ctx.cfg.dpo.eta ? oodEvaluation(ctx, policy, s) : {}),
      train,
    };
  });
}

/** The RM that ranks RSO's candidates: the linear BT-MLE or the neural ensemble on the B pool labels. */
function rsoRanker(ctx: Ctx, s: number, kind: 'linear' | 'neural'): ResponseScorer {
  if (kind === 'neural') return ensembleScorer(ctx, loadEnsemble(ctx, rmFullStageId(s)));
  const rm = poolLinearRm(ctx, s);
  return (_p, samples) => Float64Array.from(samples.flat(), (r) => rm.score(r.text));
}

/** The linear BT-MLE on the whole labelled pool (B labels; exact, refit from the stored pairs). */
export function poolLinearRm(ctx: Ctx, s: number): LinearRewardModel {
  return LinearRewardModel.fit(
    ctx.words.rm,
    poolPairs(ctx, s, 'all').map((p) => ({ chosen: p.chosen.text, rejected: p.rejected.text })),
    ctx.cfg.linearRm.lambda,
  );
}

/** The prompts of RSO stage `block` (0-based): the block-th run of `size` offline prompts, wrapping. */
function rsoPrompts(ctx: Ctx, size: number | undefined, block: number): string[] {
  const off = ctx.split.offline;
  const n = Math.min(size ?? off.length, off.length);
  return Array.from({ length: n }, (_, i) => off[(block * n + i) % off.length]);
}

/**
 * One rejection-sampling stage: `candidates` samples per prompt from `proposal` (identical texts
 * merged), scored by the ranker RM; accepted with target temperature 1/κ (κ = 1/η_target −
 * 1/η_proposal; κ = 1/η from π0) by the configured sampler; accepted samples are paired (0,1),
 * (2,3), … and labelled by the RM (no human labels).
 */
function rsoPairs(
  ctx: Ctx,
  s: number,
  proposal: ReturnType<typeof loadPolicy>,
  kappa: number,
  c: RsoOptions,
  block: number,
  seed: string,
): { pairs: StoredPair[]; acceptRate: number; prompts: number } {
  const { candidates, maxAccepted } = c;
  const prompts = rsoPrompts(ctx, c.prompts, block);
  const samples = samplePolicy(ctx, proposal, prompts, candidates, `${seed}/sample`).map((row) =>
    row.filter((r, k) => row.findIndex((x) => x.text === r.text) === k),
  );
  const scores = rsoRanker(ctx, s, c.ranker)(prompts, samples);
  const rng = new Rng(`${seed}/accept`);
  const pairs: StoredPair[] = [];
  let accepted = 0;
  let offset = 0;
  samples.forEach((row, i) => {
    const sc = scores.subarray(offset, offset + row.length);
    offset += row.length;
    const acc =
      c.sampler === 'sequential'
        ? sequentialRejectionSample(sc, 1 / kappa, rng.fork(`p${i}`), maxAccepted)
        : rejectionSampleIndices(sc, 1 / kappa, rng.fork(`p${i}`), maxAccepted);
    accepted += acc.length;
    for (let j = 0; j + 1 < acc.length; j += 2) {
      const [a, b] = [row[acc[j]], row[acc[j + 1]]];
      const [ra, rb] = [sc[acc[j]], sc[acc[j + 1]]];
      if (ra === rb) continue;
      pairs.push(
        ra > rb
          ? { prompt: prompts[i], chosen: a, rejected: b }
          : { prompt: prompts[i], chosen: b, rejected: a },
      );
    }
  });
  return { pairs, acceptRate: accepted / (prompts.length * candidates), prompts: prompts.length };
}

type RsoOptions = PipelineConfig['methods']['rso'];

/** RSO: rejection sampling from π0 toward π0·exp(r_RM/η), RM-labelled pairs, DPO from π0. */
export function runRso(ctx: Ctx, s: number, eta: number): PolicyResult {
  const tag = runTag(ctx, s, eta);
  const id = `${tag}/rso`;
  return runStage(ctx, id, (dir) => {
    const c = ctx.cfg.methods.rso;
    const { pairs, acceptRate } = rsoPairs(ctx, s, ctx.pi0, 1 / eta, c, 0, `${ctx.cfg.seed}/${id}`);
    savePairs(dir, 'pairs.json', pairs);
    const policy = ctx.pi0.clone();
    const train = dpo(ctx, policy, pairs, eta, `${ctx.cfg.seed}/${id}/dpo`);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    const budget = labelBudget(ctx.cfg);
    const used = assertBudget(ctx, 'rso', [`${seedTag(s)}/pool`, `${tag}/rso`], budget);
    return {
      method: 'rso',
      seed: s,
      eta,
      labelsUsed: used,
      budget,
      eval: evaluatePolicy(ctx, policy, s),
      train,
      extra: { acceptRate, rmPairs: pairs.length },
    };
  });
}

/** The multi-step schedule for target η: the configured etas scaled so the last equals η. */
export function multiStepEtas(ctx: Ctx, eta: number): number[] {
  const base = ctx.cfg.methods.multiStepRso.etas;
  const scale = eta / base[base.length - 1];
  return base.map((e) => e * scale);
}

/**
 * Multi-step RSO: π0 → π0·exp(r/η₁) → … → π0·exp(r/η_N). Stage i proposes from the stage i−1
 * policy and accepts with exp((r − max)(1/η_i − 1/η_{i−1})), then DPO (β = η_i, reference π0)
 * warm-started from the stage i−1 policy. Every stage is evaluated (a reward–KL path).
 */
export function runMultiStepRso(ctx: Ctx, s: number, eta: number): PolicyResult[] {
  const tag = runTag(ctx, s, eta);
  const etas = multiStepEtas(ctx, eta);
  const c = ctx.cfg.methods.multiStepRso;
  const out: PolicyResult[] = [];
  let prev: string | null = null;
  etas.forEach((e, i) => {
    const id = `${tag}/multi-step-rso/stage${i + 1}`;
    const prevId = prev;
    out.push(
      runStage(ctx, id, (dir) => {
        const proposal = loadPolicy(ctx, prevId);
        const kappa = 1 / e - (i === 0 ? 0 : 1 / etas[i - 1]);
        const { pairs, acceptRate } = rsoPairs(ctx, s, proposal, kappa, c, i, `${ctx.cfg.seed}/${id}`);
        savePairs(dir, 'pairs.json', pairs);
        const train = dpo(ctx, proposal, pairs, e, `${ctx.cfg.seed}/${id}/dpo`);
        savePolicy(dir, proposal, ctx.tok, { stage: id });
        const budget = labelBudget(ctx.cfg);
        const used = assertBudget(
          ctx,
          'multi-step-rso',
          [`${seedTag(s)}/pool`, `${tag}/multi-step-rso`],
          budget,
        );
        return {
          method: 'multi-step-rso',
          seed: s,
          eta,
          iteration: i + 1,
          labelsUsed: used,
          budget,
          eval: evaluatePolicy(ctx, proposal, s),
          train,
          extra: { acceptRate, stageEta: e, rmPairs: pairs.length },
        };
      }),
    );
    prev = id;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The papers' accounting: a proxy reward model fitted on a large labelled pool

export function proxyStageId(s: number): string {
  return `${seedTag(s)}/proxy-rm`;
}

/**
 * The proxy RM's pool: `methods.proxy.labels` oracle-labelled pairs of π0 samples on the offline
 * prompts (several pairs per prompt), ledger prefix `seedS/proxy-pool`. These labels are NOT charged
 * to either arm — that is the papers' accounting (their RM comes from external data).
 */
export function runProxyPool(ctx: Ctx, s: number): { pairs: number; labels: number } {
  return runStage(ctx, proxyStageId(s), (dir) => {
    const prompts = ctx.split.offline;
    const want = ctx.cfg.methods.proxy.labels;
    const perPrompt = Math.ceil(want / prompts.length);
    const samples = samplePolicy(
      ctx,
      ctx.pi0,
      prompts,
      2 * perPrompt,
      `${ctx.cfg.seed}/${seedTag(s)}/proxy-pool`,
    );
    const pairs: StoredPair[] = [];
    for (let k = 0; k < perPrompt && pairs.length < want; k++)
      samples.forEach((row, i) => {
        const [a, b] = [row[2 * k], row[2 * k + 1]];
        if (pairs.length >= want || a.text === b.text) return;
        const qid = `${seedTag(s)}/proxy-pool/k${k}/p${i}`;
        const aWins = ctx.ask(prompts[i], a.text, b.text, qid);
        pairs.push({ prompt: prompts[i], chosen: aWins ? a : b, rejected: aWins ? b : a, qid });
      });
    savePairs(dir, 'pairs.json', pairs);
    return { pairs: pairs.length, labels: ctx.ledger.labelsBy(`${seedTag(s)}/proxy-pool`) };
  });
}

const proxyCache = new Map<string, LinearRewardModel>();

/** The proxy: the linear BT-MLE on the proxy pool (refit from the stored pairs; exact and cheap). */
export function proxyModel(ctx: Ctx, s: number): LinearRewardModel {
  const key = `${ctx.dir}|${s}`;
  const hit = proxyCache.get(key);
  if (hit) return hit;
  const pairs = loadPairs(ctx, proxyStageId(s));
  const m = LinearRewardModel.fit(
    ctx.words.rm,
    pairs.map((p) => ({ chosen: p.chosen.text, rejected: p.rejected.text })),
    ctx.cfg.linearRm.lambda,
  );
  proxyCache.set(key, m);
  return m;
}

/** Offline DPO under the papers' accounting: the pool's π0 pairs ordered by the proxy (ties dropped). */
export function runOfflineDpoProxy(ctx: Ctx, s: number, eta: number): PolicyResult {
  const tag = runTag(ctx, s, eta);
  const id = `${tag}/offline-dpo-proxy`;
  return runStage(ctx, id, (dir) => {
    const proxy = proxyModel(ctx, s);
    const pairs: StoredPair[] = [];
    for (const p of poolPairs(ctx, s, 'all')) {
      const rc = proxy.score(p.chosen.text);
      const rr = proxy.score(p.rejected.text);
      if (rc === rr) continue;
      pairs.push(
        rc > rr
          ? { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }
          : { prompt: p.prompt, chosen: p.rejected, rejected: p.chosen },
      );
    }
    savePairs(dir, 'pairs.json', pairs);
    const policy = ctx.pi0.clone();
    const train = dpo(ctx, policy, pairs, eta, `${ctx.cfg.seed}/${id}/dpo`);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    return {
      method: 'offline-dpo-proxy',
      seed: s,
      eta,
      labelsUsed: 0,
      budget: labelBudget(ctx.cfg),
      eval: evaluatePolicy(ctx, policy, s),
      train,
      extra: { proxyPairs: pairs.length, proxyLabels: proxy.pairs },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Offline GSHF with pessimism

/** The method key of the pessimism arm at β (the configured main β has the plain key). */
export function pessimisticKey(ctx: Ctx, beta: number): string {
  return beta === ctx.cfg.methods.pessimisticDpo.beta
    ? 'offline-dpo-pessimistic'
    : `offline-dpo-pessimistic-b${beta}`;
}

/**
 * Γ of every pool response: ‖φ(a) − ν‖_{Σ⁻¹} from the linear BT model fitted on the same B labels
 * (ν = the pool's mean feature vector, the reference the features are centred on); with
 * gamma 'token' divided by the response's token count (a per-token uncertainty: a longer response is
 * not more uncertain for its length alone).
 */
function poolGammas(ctx: Ctx, pairs: readonly StoredPair[]): { w: Float64Array; l: Float64Array } {
  const feats = ctx.words.rm;
  const rm = LinearRewardModel.fit(
    feats,
    pairs.map((p) => ({ chosen: p.chosen.text, rejected: p.rejected.text })),
    ctx.cfg.linearRm.lambda,
  );
  const nu = new Float64Array(feats.d);
  const tmp = new Float64Array(feats.d);
  for (const p of pairs)
    for (const r of [p.chosen, p.rejected]) {
      feats.phi(r.text, tmp);
      for (let j = 0; j < feats.d; j++) nu[j] += tmp[j] / (2 * pairs.length);
    }
  const perToken = ctx.cfg.methods.pessimisticDpo.gamma === 'token';
  const g = (r: Resp): number => rm.gamma(r.text, nu) / (perToken ? Math.max(1, r.tokens.length) : 1);
  return {
    w: Float64Array.from(pairs, (p) => g(p.chosen)),
    l: Float64Array.from(pairs, (p) => g(p.rejected)),
  };
}

/**
 * Offline GSHF with pessimism (Option II as a DPO margin): DPO on the labelled pool with the margin
 * β·(Γ(a_w) − Γ(a_l)) inside the link. Evaluated on the test and the OOD prompts.
 */
export function runPessimisticDpo(ctx: Ctx, s: number, eta: number, beta: number): PolicyResult {
  const tag = runTag(ctx, s, eta);
  const key = pessimisticKey(ctx, beta);
  const id = `${tag}/${key}`;
  return runStage(ctx, id, (dir) => {
    const pairs = poolPairs(ctx, s, 'all');
    const g = poolGammas(ctx, pairs);
    const offsets = pessimisticOffsets(g.w, g.l, beta);
    const policy = ctx.pi0.clone();
    const train = dpo(ctx, policy, pairs, eta, `${ctx.cfg.seed}/${id}/dpo`, offsets);
    savePolicy(dir, policy, ctx.tok, { stage: id });
    const budget = labelBudget(ctx.cfg);
    const used = assertBudget(ctx, key, [`${seedTag(s)}/pool`], budget);
    const meanAbs = offsets.reduce((a, o) => a + Math.abs(o), 0) / Math.max(1, offsets.length);
    return {
      method: key,
      seed: s,
      eta,
      labelsUsed: used,
      budget,
      eval: evaluatePolicy(ctx, policy, s),
      ...oodEvaluation(ctx, policy, s),
      train,
      extra: { pessimismBeta: beta, meanAbsOffset: meanAbs, gamma: ctx.cfg.methods.pessimisticDpo.gamma },
    };
  });
}
