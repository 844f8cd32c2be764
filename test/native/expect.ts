/**
 * When a test needing native kernels may skip: only when the addon (or one of the kernels) is
 * missing AND GSHF_EXPECT_NATIVE=1 is not set. scripts/test.sh sets it when the addon was built;
 * then a missing kernel fails the test (through {@link assertKernels}) instead of skipping it.
 */
import assert from 'node:assert/strict';
import { loadNativeAddon, nativeLoadError, type KernelName } from '../../src/native/index.js';

export const nativeExpected = process.env.GSHF_EXPECT_NATIVE === '1';

function missing(names: KernelName[]): KernelName[] {
  const ops = loadNativeAddon();
  return names.filter((k) => typeof ops?.[k] !== 'function');
}

/** `{ skip }` value for node:test: false when the kernels are present or expected, else the reason. */
export function skipUnlessKernels(...names: KernelName[]): string | false {
  const gone = missing(names);
  if (gone.length === 0 || nativeExpected) return false;
  return `native kernels unavailable (${gone.join(', ')}): ${nativeLoadError() ?? 'old addon build'}`;
}

/** Fails (naming what is missing) unless every kernel is present; call first in such a test. */
export function assertKernels(...names: KernelName[]): void {
  const gone = missing(names);
  assert.deepEqual(
    gone,
    [],
    `native kernels missing: ${gone.join(', ')} (${nativeLoadError() ?? 'old addon build'})`,
  );
}
