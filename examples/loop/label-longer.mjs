// A toy label source for `labels: {kind: command}`: prefers the longer response, ties on equal length.
import { createInterface } from 'node:readline';

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, a, b } = JSON.parse(line);
  const verdict = a.length > b.length ? 'a' : a.length < b.length ? 'b' : 'tie';
  process.stdout.write(JSON.stringify({ id, verdict }) + '\n');
}
