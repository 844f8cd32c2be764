/**
 * The policy-backend interface of the online loop: something that samples n responses per prompt
 * from a policy and trains the next policy on labelled pairs (DPO with the reference fixed to π0).
 * Interface only (no imports), so the miniature (src/pref) and the loop (src/loop) can share it.
 *
 * A policy is named by an opaque `PolicyRef`: a checkpoint folder for the local engine, a model
 * name (or "name@endpoint") for an OpenAI-compatible server. `initial` is π0, also the reference.
 */

/** One sampled response. `tokens`/`stop` when the backend exposes them (local engine). */
export interface PolicySample {
  text: string;
  /** Exact sampled token ids (so log-probs are scored on exactly these sequences). */
  tokens?: number[];
  /** Ended with EOS (else it hit max tokens). */
  stop?: boolean;
  /** Summed log-prob of the response under the sampling policy, where the backend offers it. */
  logprob?: number;
}

export type PolicyRef = string;

/** A labelled pair in training order: `chosen` was preferred to `rejected` as a response to `prompt`. */
export interface TrainPair<S extends PolicySample = PolicySample> {
  /** The label's ledger id (absent for pairs from elsewhere, e.g. offline data). */
  id?: string;
  prompt: string;
  chosen: S;
  rejected: S;
}

export interface TrainRequest<S extends PolicySample = PolicySample> {
  /** 1-based iteration whose policy this produces. */
  iteration: number;
  /** Policy to start from: π0 (retrain schedule) or π_{t−1} (warm start). */
  init: PolicyRef;
  /** DPO reference (always π0 in GSHF). */
  ref: PolicyRef;
  pairs: readonly TrainPair<S>[];
  /** Folder for this iteration's training outputs (created by the caller, empty). */
  out: string;
  /** Seed key of the training run (data order, dropout). */
  seed: string;
}

export interface TrainResult {
  /** The produced policy, for sampling in the next iteration. */
  policy: PolicyRef;
  /** Numbers worth reporting (loss, accuracy, steps, seconds, …). */
  summary: Record<string, number | string | null>;
}

export interface PolicyBackend<S extends PolicySample = PolicySample> {
  readonly name: string;
  /** π0: the first behaviour policy and the DPO reference. */
  readonly initial: PolicyRef;
  /** n responses per prompt from `policy`; deterministic in `seed` where the backend allows. */
  sample(policy: PolicyRef, prompts: readonly string[], n: number, seed: string): Promise<S[][]>;
  /** Trains the next policy. */
  train(req: TrainRequest<S>): Promise<TrainResult>;
  /**
   * Summed log-probs of responses under `policy` (for a KL estimate against π0), aligned with
   * `prompts`. Optional: remote servers may not offer scoring.
   */
  logProbs?(policy: PolicyRef, prompts: readonly string[], responses: readonly S[]): Promise<number[]>;
  close?(): Promise<void>;
}
