/**
 * Exact evaluation of bandit policies as the CLI and scripts exchange them: the readers of θ and
 * policy files, and the JSON shape of `gshf bandit evaluate --json` (docs/cli.md). Errors are
 * `GshfInputError`s naming the file and field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { BanditEnv } from './env.js';
import { expectedReward, gapMetric, klPerContext, klToRef, objective, trueRewards } from './policy.js';
import { logSumExp } from '../math/special.js';
import { GshfInputError } from '../math/errors.js';
import { parseJsonStrict } from '../math/json.js';

/** Exact evaluation of a policy: the shape printed by `gshf bandit evaluate --json`. */
export function evaluatePolicy(env: BanditEnv, logp: Float64Array) {
  const perKl = klPerContext(env, logp, env.refLogprobs);
  const per = Array.from({ length: env.nContexts }, (_, c) => ({
    context: c,
    probs: Array.from(logp.subarray(env.offsets[c], env.offsets[c + 1]), Math.exp),
    kl_to_ref: perKl[c],
  }));
  const hasTruth = env.thetaStar !== null;
  const g = hasTruth ? gapMetric(env, logp) : null;
  return {
    eta: env.eta,
    J: hasTruth ? objective(env, logp, trueRewards(env)) : null,
    expected_reward: hasTruth ? expectedReward(env, logp, trueRewards(env)) : null,
    kl_to_ref: klToRef(env, logp),
    gap: g
      ? {
          gap: g.gap,
          suboptimality: g.suboptimality,
          kl_star_to_hat: g.klStarToHat,
          J_star: g.jStar,
          J_hat: g.jHat,
        }
      : null,
    per_context: per,
  };
}

/**
 * θ from `--theta`: a JSON array given inline (`[0.1, 2]`), or a file holding one, or the output
 * of `gshf bandit fit --json` ({"theta": [...], ...}). Errors name the source and field.
 */
export function readTheta(arg: string, d: number): Float64Array {
  const text = arg.trim().startsWith('[') ? arg : readFileSync(arg, 'utf8');
  const source = arg.trim().startsWith('[') ? '--theta' : arg;
  const data = parseJsonStrict(text, source);
  const schema = z.union([z.array(z.number()), z.object({ theta: z.array(z.number()) }).passthrough()]);
  const r = schema.safeParse(data);
  if (!r.success)
    throw new GshfInputError(`${source}: field "theta": expected an array of numbers (or {"theta": [...]})`);
  const theta = Array.isArray(r.data) ? r.data : r.data.theta;
  if (theta.length !== d)
    throw new GshfInputError(
      `${source}: field "theta": length ${theta.length}, but the environment has d=${d}`,
    );
  return Float64Array.from(theta);
}

/**
 * An explicit policy file: {"probs": [[K] per context]} or {"logprobs": [[K] per context]}; rows are
 * checked against the environment and normalised (sum within 1e-6 of 1). Returns flat log-probs.
 */
export function readPolicy(path: string, env: BanditEnv): Float64Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GshfInputError(`cannot read the policy file (${(e as Error).message})`, { file: path });
  }
  const data = parseJsonStrict(text, path);
  const rows = z.array(z.array(z.number()));
  const r = z
    .union([z.object({ probs: rows }).strict(), z.object({ logprobs: rows }).strict()])
    .safeParse(data);
  if (!r.success)
    throw new GshfInputError(
      `${path}: expected {"probs": [[...], ...]} or {"logprobs": [[...], ...]} (numbers only)`,
    );
  const isProbs = 'probs' in r.data;
  const table = 'probs' in r.data ? r.data.probs : r.data.logprobs;
  const field = isProbs ? 'probs' : 'logprobs';
  if (table.length !== env.nContexts)
    throw new GshfInputError(
      `${path}: field "${field}": ${table.length} contexts, the environment has ${env.nContexts}`,
    );
  const out = new Float64Array(env.offsets[env.nContexts]);
  table.forEach((row, c) => {
    const K = env.offsets[c + 1] - env.offsets[c];
    if (row.length !== K)
      throw new GshfInputError(
        `${path}: field "${field}[${c}]": ${row.length} actions, context ${c} has ${K}`,
      );
    row.forEach((v, a) => {
      if (isProbs && !(v >= 0))
        throw new GshfInputError(`${path}: field "${field}[${c}][${a}]": probability must be ≥ 0, got ${v}`);
      out[env.offsets[c] + a] = isProbs ? Math.log(v) : v;
    });
    const z0 = logSumExp(out, env.offsets[c], K);
    if (!Number.isFinite(z0)) throw new GshfInputError(`${path}: field "${field}[${c}]": no positive mass`);
    if (Math.abs(z0) > 1e-6)
      throw new GshfInputError(
        `${path}: field "${field}[${c}]": sums to ${Math.exp(z0)}, expected 1 (±1e-6)`,
      );
    for (let a = 0; a < K; a++) out[env.offsets[c] + a] -= z0;
  });
  return out;
}
