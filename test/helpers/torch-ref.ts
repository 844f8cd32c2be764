/**
 * The PyTorch reference of the Hugging Face model tests (test/nn/ref/hf_ref.py, run with Debian's
 * python3-torch). Tests skip with a message when torch cannot be imported, unless
 * GSHF_EXPECT_TORCH=1 (scripts/test.sh sets it when torch imports): then they fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The reference script, resolved from the built test file (dist/test/helpers → test/nn/ref). */
export const HF_REF_SCRIPT = fileURLToPath(new URL('../../../test/nn/ref/hf_ref.py', import.meta.url));

/** Python with torch: GSHF_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH. */
function pythonCandidates(): string[] {
  return [process.env.GSHF_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
}

let found: string | null | undefined;

/** The first candidate interpreter that imports torch, or null. */
export function torchPython(): string | null {
  if (found !== undefined) return found;
  found = null;
  for (const py of pythonCandidates()) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) {
      found = py;
      break;
    }
  }
  return found;
}

/**
 * `false` when the torch tests may run; otherwise the skip message. Throws when torch is missing
 * but GSHF_EXPECT_TORCH=1.
 */
export function torchSkip(): false | string {
  if (torchPython()) return false;
  if (process.env.GSHF_EXPECT_TORCH === '1')
    throw new Error('GSHF_EXPECT_TORCH=1 but no python with torch (apt-get install -y python3-torch)');
  return 'PyTorch not importable (apt-get install -y python3-torch, or set GSHF_PYTHON); reference tests skipped';
}

/** Runs the reference script with `args`; returns its JSON stdout line. */
export function runTorchRef(args: string[]): unknown {
  const py = torchPython();
  if (!py) throw new Error('no python with torch');
  const out = execFileSync(py, [HF_REF_SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    timeout: 300_000,
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}
