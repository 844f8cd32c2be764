/**
 * The one module that turns command-line flag strings into typed values. Each factory returns a
 * commander argument parser; a bad value throws `GshfInputError` naming the flag and the value:
 *   --lambda: expected a number ≥ 0, got "abc"
 *   --coverage: expected one of good, poor, adversarial, got "bad"
 * Usage: `.option('--lambda <x>', 'ridge λ', num('lambda', { min: 0 }), 1)`.
 */
import { existsSync } from 'node:fs';
import { GshfInputError } from '../math/errors.js';

export interface Bounds {
  /** Inclusive lower bound. */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive lower bound (e.g. 0 for "> 0"). */
  above?: number;
}

function boundsText(b: Bounds): string {
  const parts: string[] = [];
  if (b.above !== undefined) parts.push(`> ${b.above}`);
  if (b.min !== undefined) parts.push(`≥ ${b.min}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  return parts.length ? ' ' + parts.join(' and ') : '';
}

function inBounds(x: number, b: Bounds): boolean {
  return (
    (b.min === undefined || x >= b.min) &&
    (b.max === undefined || x <= b.max) &&
    (b.above === undefined || x > b.above)
  );
}

function fail(flag: string, expected: string, v: string): never {
  throw new GshfInputError(`--${flag}: expected ${expected}, got "${v}"`);
}

/** Parses a finite number within `bounds` (an empty string or `1e999` is refused). */
export function parseNumber(flag: string, v: string, bounds: Bounds = {}): number {
  const x = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x) || !inBounds(x, bounds)) fail(flag, `a number${boundsText(bounds)}`, v);
  return x;
}

/** Parses a safe integer within `bounds` (default: ≥ 0). */
export function parseInteger(flag: string, v: string, bounds: Bounds = { min: 0 }): number {
  const x = v.trim() === '' ? NaN : Number(v);
  if (!Number.isSafeInteger(x) || !inBounds(x, bounds)) fail(flag, `an integer${boundsText(bounds)}`, v);
  return x;
}

/** Parses one of `values`. */
export function parseEnum<T extends string>(flag: string, v: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(v)) fail(flag, `one of ${values.join(', ')}`, v);
  return v as T;
}

/** Parses a non-empty path; with `mustExist`, the path must exist. */
export function parsePath(flag: string, v: string, opts: { mustExist?: boolean } = {}): string {
  if (v.trim() === '') fail(flag, 'a path', v);
  if (opts.mustExist && !existsSync(v))
    throw new GshfInputError(`--${flag}: ${v}: no such file or directory`);
  return v;
}

/** Commander parser for a number, e.g. `num('lambda', { min: 0 })`. */
export function num(flag: string, bounds: Bounds = {}): (v: string) => number {
  return (v) => parseNumber(flag, v, bounds);
}

/** Commander parser for an integer, e.g. `int('seeds', { min: 1 })` (default bounds: ≥ 0). */
export function int(flag: string, bounds: Bounds = { min: 0 }): (v: string) => number {
  return (v) => parseInteger(flag, v, bounds);
}

/** Commander parser for one of a fixed set of strings. */
export function oneOf<T extends string>(flag: string, values: readonly T[]): (v: string) => T {
  return (v) => parseEnum(flag, v, values);
}

/** Commander parser for a path (optionally one that must exist). */
export function path(flag: string, opts: { mustExist?: boolean } = {}): (v: string) => string {
  return (v) => parsePath(flag, v, opts);
}
