/**
 * The `trainer` mechanism: how the loop runs beyond one machine. Generation goes to any sampler
 * (an OpenAI-compatible server: vLLM, llama.cpp, `gshf lm serve`), and once per iteration an
 * external command trains the next policy on the exported TRL JSONL pairs (TRL's `trl dpo`,
 * OpenRLHF's DPO, `gshf pref dpo`, on a GPU box over ssh, …). Afterwards generation points at the
 * model it produced: the policy is named by the trainer's output (`{out}`), generation asks the
 * server for `generationModel` rendered with it, and an optional `after` command can (re)start or
 * reload the server first.
 *
 * Placeholders in `command`, `after` and `generationModel`: {pairs} (the TRL JSONL file), {iteration},
 * {out} (the folder the trainer must write the new policy to), {init} (the policy to start from:
 * π_{t−1} for warm start, π0 for retrain), {ref} (π0, the DPO reference), {policy} (= {out}), {eta}.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { stderrSummary } from '../math/errors.js';
import { writeTrlJsonl } from '../pref/data.js';
import type { PolicyBackend, PolicyRef, PolicySample, TrainRequest, TrainResult } from './types.js';

export const trainerSchema = z
  .object({
    /** The training command (run with /bin/sh -c), with placeholders. */
    command: z.string().min(1),
    /** π0 as the trainer knows it (a checkpoint folder or hub name): {init} at t = 1 and {ref}. */
    initial: z.string().min(1),
    /** Model name generation uses for a trained policy (default "{policy}", the output folder). */
    generationModel: z.string().min(1).default('{policy}'),
    /** Run after each training, before generation resumes (e.g. restart or reload the server). */
    after: z.string().min(1).optional(),
    /** Seconds per command before it is killed (default 6 h). */
    timeoutSeconds: z.number().positive().default(21600),
    /** DPO η passed as {eta}. */
    eta: z.number().positive().default(0.1),
    /** TRL row format of {pairs}. */
    format: z.enum(['standard', 'conversational']).default('standard'),
  })
  .strict();
export type TrainerConfig = z.output<typeof trainerSchema>;

/** Something that samples from a model by name (an OpenAI-compatible client). */
export interface Generator {
  readonly name: string;
  sample(model: string, prompts: readonly string[], n: number, seed: string): Promise<PolicySample[][]>;
  logProbs?(model: string, prompts: readonly string[], responses: readonly PolicySample[]): Promise<number[]>;
  close?(): Promise<void>;
}

/** Fills {name} placeholders; an unknown placeholder is an error (a typo would run a wrong command). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z]+)\}/g, (m, key: string) => {
    if (!(key in values))
      throw new Error(
        `unknown placeholder ${m} in "${template}" (known: ${Object.keys(values)
          .map((k) => `{${k}}`)
          .join(', ')})`,
      );
    return values[key];
  });
}

/** Shell-quotes a value for a POSIX shell. */
function q(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export const TRAINER_PLACEHOLDERS = ['pairs', 'iteration', 'out', 'init', 'ref', 'policy', 'eta'] as const;

/** Checks a template's placeholders without running anything (config validation). */
export function checkTemplate(template: string): string | null {
  const known = new Set<string>(TRAINER_PLACEHOLDERS);
  for (const m of template.matchAll(/\{([a-z]+)\}/g))
    if (!known.has(m[1]))
      return `unknown placeholder {${m[1]}} (known: ${TRAINER_PLACEHOLDERS.map((k) => `{${k}}`).join(', ')})`;
  return null;
}

export async function runShell(cmd: string, timeoutSeconds: number, what: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutSeconds * 1000);
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(new Error(`${what} "${cmd}": cannot start (${e.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return res();
      const last = stderrSummary(Buffer.concat(err).toString('utf8'));
      const how = timedOut
        ? `timed out after ${timeoutSeconds} s`
        : signal
          ? `killed by ${signal}`
          : `exited with code ${code}`;
      rej(new Error(`${what} "${cmd}" ${how}${last ? `: ${last.slice(0, 300)}` : ''}`));
    });
  });
}

/** A generator + an external trainer command = a policy backend. */
export class TrainerPolicy implements PolicyBackend {
  readonly name: string;
  readonly initial: PolicyRef;

  constructor(
    private readonly gen: Generator,
    private readonly cfg: TrainerConfig,
    /** The model name generation uses for π0. */
    private readonly initialModel: string,
  ) {
    this.name = `${gen.name}+trainer`;
    this.initial = cfg.initial;
    const lp = gen.logProbs?.bind(gen);
    if (lp) this.logProbs = (policy, prompts, responses) => lp(this.modelOf(policy), prompts, responses);
  }

  logProbs?: PolicyBackend['logProbs'];

  /** The model name generation asks for when sampling `policy`. */
  modelOf(policy: PolicyRef): string {
    if (policy === this.initial) return this.initialModel;
    return renderTemplate(this.cfg.generationModel, { policy, out: policy });
  }

  sample(policy: PolicyRef, prompts: readonly string[], n: number, seed: string): Promise<PolicySample[][]> {
    return this.gen.sample(this.modelOf(policy), prompts, n, seed);
  }

  async train(req: TrainRequest): Promise<TrainResult> {
    mkdirSync(req.out, { recursive: true });
    const pairsPath = resolve(join(req.out, 'pairs.jsonl'));
    writeTrlJsonl(
      pairsPath,
      req.pairs.map((p) => ({ prompt: p.prompt, chosen: p.chosen.text, rejected: p.rejected.text })),
      { format: this.cfg.format },
    );
    const out = resolve(join(req.out, 'policy'));
    const values = {
      pairs: q(pairsPath),
      iteration: String(req.iteration),
      out: q(out),
      init: q(req.init),
      ref: q(req.ref),
      policy: q(out),
      eta: String(this.cfg.eta),
    };
    await runShell(renderTemplate(this.cfg.command, values), this.cfg.timeoutSeconds, 'trainer');
    if (this.cfg.after)
      await runShell(renderTemplate(this.cfg.after, values), this.cfg.timeoutSeconds, 'trainer.after');
    return { policy: out, summary: { pairs: req.pairs.length } };
  }

  async close(): Promise<void> {
    await this.gen.close?.();
  }
}
