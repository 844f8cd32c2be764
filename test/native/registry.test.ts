/**
 * The kernel registry's one backend switch reaches every caller, the bandit lab included: with
 * setBackend('ts') no kernel call site gets a native kernel (traceKernels counts the dispatches per
 * kernel and backend), and with the addon the same algorithms dispatch natively and agree with TS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/math/rng.js';
import { emptyPairs, type BanditEnv, type PairData } from '../../src/bandit/env.js';
import { behaviourPolicy, generateEnv } from '../../src/bandit/generate.js';
import { PreferenceOracle, samplePairs } from '../../src/bandit/oracle.js';
import { getAlgorithm } from '../../src/bandit/algorithms/index.js';
import { evaluateGibbsExact } from '../../src/bandit/policy.js';
import {
  kernelBackendName,
  setBackend,
  traceKernels,
  withBackend,
  type KernelBackend,
  type KernelName,
} from '../../src/native/index.js';
import { setUseNative } from '../../src/nn/kernels.js';
import { workerEnv } from '../../src/bandit/experiment/pool.js';
import { randomBatch, randomModel } from '../nn/helpers.js';
import { assertKernels, skipUnlessKernels } from './expect.js';

const env: BanditEnv = generateEnv({
  d: 16,
  K: 8,
  nContexts: 40,
  normB: 2,
  refTemperature: 1,
  eta: 0.5,
  seed: 3,
});
const beh = behaviourPolicy(env, 'good');
const offline: PairData = samplePairs(
  env,
  beh,
  beh,
  300,
  new PreferenceOracle(env, env.thetaStar as Float64Array, new Rng('registry-off')),
  new Rng('registry-pairs'),
  { dropTies: true },
);

/** The bandit-lab kernels each algorithm below must reach (and which one reaches it). */
const BANDIT_KERNELS: KernelName[] = ['btNewton', 'evalGibbs', 'tiltAccumulate', 'dpoTabularTrain'];

interface LabRun {
  policies: Float64Array[];
  jHat: number[];
}

/** gshf-online (uncertainty tilt), offline option 2 and RSO (tabular DPO), each scored exactly. */
function runLab(): LabRun {
  const runs = [
    getAlgorithm('gshf-online').run(
      {
        env,
        offline: emptyPairs(),
        oracle: new PreferenceOracle(env, env.thetaStar as Float64Array, new Rng('registry-oracle')),
        rng: new Rng('registry-online'),
      },
      { T: 2, m: 20, validationQueries: 20 },
    ),
    getAlgorithm('gshf-offline-option2').run({ env, offline, oracle: null, rng: new Rng('registry-o2') }, {}),
    getAlgorithm('rso').run({ env, offline, oracle: null, rng: new Rng('registry-rso') }, {}),
  ];
  return {
    policies: runs.map((r) => r.policy),
    jHat: runs.map((r) => evaluateGibbsExact(env, r.thetaHat ?? new Float64Array(env.d)).jHat),
  };
}

function traced(
  backend: 'ts' | 'native',
  fn: () => LabRun,
): { run: LabRun; counts: ReturnType<typeof traceKernels> } {
  let run: LabRun | undefined;
  const counts = traceKernels(() => {
    run = withBackend(backend, fn);
  });
  assert.ok(run);
  return { run, counts };
}

function total(counts: ReturnType<typeof traceKernels>, b: KernelBackend): number {
  let s = 0;
  for (const c of counts.values()) s += c[b];
  return s;
}

test("setBackend('ts') reaches every bandit-lab kernel call site: no native dispatch at all", () => {
  const { counts } = traced('ts', runLab);
  assert.equal(total(counts, 'native'), 0, JSON.stringify([...counts]));
  for (const k of BANDIT_KERNELS) assert.ok((counts.get(k)?.ts ?? 0) > 0, `${k} was never asked for`);
});

test('the deprecated setUseNative(false) is the same switch (it reaches the bandit lab too)', () => {
  setUseNative(false);
  try {
    assert.equal(kernelBackendName(), 'ts');
    const counts = traceKernels(() => {
      runLab();
    });
    assert.equal(total(counts, 'native'), 0);
  } finally {
    setBackend('auto');
  }
});

test(
  'with the addon the same call sites dispatch natively, and the results agree with TypeScript',
  { skip: skipUnlessKernels(...BANDIT_KERNELS) },
  () => {
    assertKernels(...BANDIT_KERNELS);
    const ts = traced('ts', runLab).run;
    const { run: nat, counts } = traced('native', runLab);
    for (const k of BANDIT_KERNELS) assert.ok((counts.get(k)?.native ?? 0) > 0, `${k} did not run natively`);
    assert.equal(total(counts, 'ts'), 0, JSON.stringify([...counts]));
    for (let a = 0; a < ts.policies.length; a++) {
      let worst = 0;
      for (let i = 0; i < ts.policies[a].length; i++)
        worst = Math.max(worst, Math.abs(Math.exp(ts.policies[a][i]) - Math.exp(nat.policies[a][i])));
      assert.ok(worst < 1e-6, `algorithm ${a}: policies differ by ${worst}`);
      assert.ok(
        Math.abs(ts.jHat[a] - nat.jHat[a]) < 1e-8,
        `algorithm ${a}: J ${ts.jHat[a]} vs ${nat.jHat[a]}`,
      );
    }
  },
);

test('the LM engine obeys the same switch: a GPT step dispatches only TS kernels under ts', () => {
  const model = randomModel({ vocabSize: 30, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 }, 1);
  const batch = randomBatch(new Rng(2), 2, 8, 30, 1);
  const step = () => {
    model.zeroGrad();
    model.lmLoss(batch);
    model.backwardLmLoss();
  };
  const counts = traceKernels(() => withBackend('ts', step));
  assert.equal(total(counts, 'native'), 0);
  for (const k of ['sgemm', 'layerNormForward', 'geluForward', 'lmLogProbs'] as const)
    assert.ok((counts.get(k)?.ts ?? 0) > 0, `${k} was never asked for`);
});

test('withBackend restores the previous backend when its function throws', () => {
  const before = kernelBackendName();
  assert.throws(
    () =>
      withBackend('ts', () => {
        assert.equal(kernelBackendName(), 'ts');
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(kernelBackendName(), before);
});

test('the bandit worker pool gives its workers GSHF_THREADS=1 (one BLAS thread each)', () => {
  const env = workerEnv({ PATH: '/bin', GSHF_THREADS: '4' });
  assert.equal(env.GSHF_THREADS, '1');
  assert.equal(env.PATH, '/bin');
});
