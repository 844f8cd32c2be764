/** Commander value parsers shared by CLI groups: each names the flag and the bad value. */
export function intFlag(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max)
      throw new Error(`--${name}: expected an integer in [${min}, ${max}], got "${v}"`);
    return x;
  };
}

/** An environment variable that must be set and non-empty; the value itself is never printed. */
export function envSecret(flag: string, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`--${flag}: the environment variable ${name} is not set`);
  return v;
}
