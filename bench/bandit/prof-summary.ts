/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top N.
 * Usage: node dist/bench/bandit/prof-summary.js FILE.cpuprofile [N]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: prof-summary FILE.cpuprofile [N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 15);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]);
  const dt = p.timeDeltas[i] ?? 0;
  total += dt;
  if (!n) continue;
  const cf = n.callFrame;
  const where = cf.url ? `${basename(cf.url)}:${cf.lineNumber + 1}` : '';
  const k = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  self.set(k, (self.get(k) ?? 0) + dt);
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
process.stdout.write(`${basename(file)}: ${(total / 1e3).toFixed(0)} ms sampled\n`);
for (const [k, v] of rows)
  process.stdout.write(
    `  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1e3).toFixed(0).padStart(7)} ms  ${k}\n`,
  );
