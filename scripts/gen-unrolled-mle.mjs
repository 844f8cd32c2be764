#!/usr/bin/env node
// Generates the unrolled gradient + Hessian kernels gradHessBlock4 / gradHessBlock8 of
// src/bandit/mle.ts (the d gradient sums and d(d+1)/2 upper-triangle Hessian sums kept in locals,
// which V8 keeps in registers; a loop over a Float64Array accumulator is ~2x slower).
// Usage: node scripts/gen-unrolled-mle.mjs 4 8   (prints the functions; paste them into mle.ts).
// test/bandit/core-mle.test.ts checks that mle.ts holds exactly this output.

/** The TypeScript source of gradHessBlock<d>. */
export function unrolledGradHess(d) {
  const L = [];
  const nh = (d * (d + 1)) / 2;
  L.push('/**');
  L.push(
    ` * Rows [start, end) for d = ${d}: the ${d} gradient and ${nh} Hessian sums live in locals (generated,`,
  );
  L.push(' * unrolled), loaded from and stored back to acc (g then the upper triangle row by row).');
  L.push(' */');
  L.push(`function gradHessBlock${d}(`);
  for (const a of [
    'data: RowData',
    'sp: Float64Array',
    'sn: Float64Array',
    'acc: Float64Array',
    'start: number',
    'end: number',
  ])
    L.push(`  ${a},`);
  L.push('): void {');
  L.push('  const { dphi, cnt, neg } = data;');
  const h = [];
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) h.push([a, b]);
  for (let j = 0; j < d; j++) L.push(`  let g${j} = acc[${j}];`);
  h.forEach(([a, b], k) => L.push(`  let h${a}${b} = acc[${d + k}];`));
  L.push(`  for (let i = start, o = start * ${d}; i < end; i++, o += ${d}) {`);
  L.push('    const c = cnt === null ? 1 : cnt[i];');
  L.push('    const q = sn[i];');
  L.push('    const g = cnt === null ? q : c * q - (neg as Float64Array)[i];');
  L.push('    const w = c * sp[i] * q;');
  for (let j = 0; j < d; j++) L.push(`    const x${j} = dphi[o${j === 0 ? '' : ` + ${j}`}];`);
  for (let j = 0; j < d; j++) L.push(`    g${j} += g * x${j};`);
  for (let a = 0; a < d; a++) {
    L.push(`    const w${a} = w * x${a};`);
    for (let b = a; b < d; b++) L.push(`    h${a}${b} += w${a} * x${b};`);
  }
  L.push('  }');
  for (let j = 0; j < d; j++) L.push(`  acc[${j}] = g${j};`);
  h.forEach(([a, b], k) => L.push(`  acc[${d + k}] = h${a}${b};`));
  L.push('}');
  return L.join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ds = process.argv.slice(2).map(Number);
  process.stdout.write((ds.length ? ds : [4, 8]).map(unrolledGradHess).join('\n'));
}
