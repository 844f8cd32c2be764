import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { linePlot, ticks } from '../../src/report/svg.js';
import { mdTable, fmt } from '../../src/report/markdown.js';
import { parseConfigText, loadConfigFile } from '../../src/cli/config-file.js';

test('log ticks are powers of ten; linear ticks are nice round steps', () => {
  assert.deepEqual(
    ticks(1, 4, true).map((t) => t.label),
    ['10', '100', '1000', '10000'],
  );
  // Under 2.5 decades, 2× and 5× ticks are added.
  assert.deepEqual(
    ticks(2, 3, true).map((t) => t.label),
    ['100', '200', '500', '1000'],
  );
  assert.deepEqual(
    ticks(0, 1, false).map((t) => t.label),
    ['0', '0.2', '0.4', '0.6', '0.8', '1'],
  );
});

test('linePlot maps data to the plot box and skips non-positive values on log axes', () => {
  const svg = linePlot([{ label: 'a<b', x: [1, 10, 100], y: [1, 0.1, 0] }], {
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    logX: true,
    logY: true,
  });
  assert.match(svg, /^<svg /);
  assert.match(svg, /a&lt;b/);
  // two valid points (y=0 dropped on a log axis) → two markers
  assert.equal((svg.match(/<circle /g) ?? []).length, 2);
  const pts = /<polyline points="([^"]+)"/.exec(svg)?.[1].split(' ') ?? [];
  assert.equal(pts.length, 2);
  // first point at the left/top corner of the plot box (x=70, y=40 + 5% padding of the y range)
  const [x0, y0] = pts[0].split(',').map(Number);
  assert.equal(x0, 70);
  assert.ok(Math.abs(y0 - (40 + (0.05 / 1.1) * 345)) < 0.2, `y0=${y0}`);
});

test('mdTable and fmt', () => {
  assert.equal(mdTable(['a', 'b'], [[1, 'x']]), '| a | b |\n|:---|---:|\n| 1 | x |');
  assert.equal(fmt(0.123456), '0.123');
  assert.equal(fmt(123456), '1.23e+5');
  assert.equal(fmt(0), '0');
});

const schema = z
  .object({
    name: z.string(),
    seeds: z.number().int().min(1),
    nested: z.object({ eta: z.number().positive() }),
  })
  .strict();

test('config errors name the file, the line, the field and the value (YAML)', () => {
  const yaml = 'name: x\nseeds: 3\nnested:\n  eta: -1\n';
  assert.throws(
    () => parseConfigText(yaml, 'c.yaml', schema),
    (e: Error) => {
      assert.match(e.message, /^c\.yaml:4: field "nested\.eta": .*\(value: -1\)/);
      return true;
    },
  );
});

test('config errors name the line in JSON too, and missing fields point at the parent', () => {
  const json = '{\n  "name": "x",\n  "seeds": "three",\n  "nested": {}\n}\n';
  assert.throws(
    () => parseConfigText(json, 'c.json', schema),
    (e: Error) => {
      assert.match(e.message, /c\.json:3: field "seeds": .*\(value: "three"\)/);
      assert.match(e.message, /c\.json:4: field "nested\.eta"/);
      return true;
    },
  );
  assert.throws(
    () => parseConfigText('{"name": ', 'bad.json', schema),
    (e: Error) => /^bad\.json:1:\d+: /.test(e.message),
  );
  assert.throws(
    () => loadConfigFile('/nonexistent/c.yaml', schema),
    (e: Error) => e.message.startsWith('/nonexistent/c.yaml: cannot read'),
  );
  assert.deepEqual(parseConfigText('name: a\nseeds: 2\nnested: {eta: 1}\n', 'ok.yaml', schema), {
    name: 'a',
    seeds: 2,
    nested: { eta: 1 },
  });
});

test('single-sample intervals print "1 seed: no interval", not ± Infinity', async () => {
  const { fmtCI, fmtRange } = await import('../../src/report/markdown.js');
  assert.equal(fmtCI(0.5, Infinity), '0.5 (1 seed: no interval)');
  assert.equal(fmtCI(0.5, NaN), '0.5 (1 seed: no interval)');
  assert.equal(fmtCI(0.5, 0.25), '0.5 ± 0.25');
  assert.equal(fmtRange(-Infinity, Infinity), '1 seed: no interval');
  assert.equal(fmtRange(1, 2), '1 to 2');
});

test('plots: π0 without an x on a log axis is a reference line; bands clipped; integer ticks; long titles fit', () => {
  const svg = linePlot(
    [
      { label: 'algo', x: [10, 100, 1000], y: [1, 0.1, 0.01], lo: [1e-7, 1e-7, 1e-7], hi: [2, 0.2, 0.02] },
      { label: 'π0', x: [0], y: [0.5] },
    ],
    { title: 't', xLabel: 'x', yLabel: 'y', logX: true, logY: true },
  );
  // The π0 reference line spans the plot box (x 70 → 760 − right margin) at y = 0.5.
  const ref =
    /<line x1="70" y1="([\d.]+)" x2="([\d.]+)" y2="\1" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"\/>/.exec(
      svg,
    );
  assert.ok(ref, 'a dashed horizontal line in the second colour');
  // y axis: data span log10 0.01..1 = 2 decades; bands may add at most 1 decade below (not 5).
  const yTicks = [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => Number(m[1]));
  assert.ok(Math.min(...yTicks) >= 1e-3, `lowest y tick ${Math.min(...yTicks)}`);
  assert.match(svg, /clip-path="url\(#plot-area\)"/);

  const it = linePlot([{ label: 'a', x: [0, 1, 2], y: [3, 2, 1] }], {
    title: 'iterations',
    xLabel: 'i',
    yLabel: 'y',
  });
  const xTicks = [...it.matchAll(/text-anchor="middle">(-?[\d.]+)</g)].map((m) => Number(m[1]));
  assert.deepEqual(xTicks, [0, 1, 2]);

  const long =
    'Offline coverage-adversarial study: gap of every method against the label budget, 95% intervals';
  const t = linePlot([{ label: 'a', x: [1, 2], y: [1, 2] }], { title: long, xLabel: 'x', yLabel: 'y' });
  const size = Number(/font-size="(\d+)" font-weight="bold"/.exec(t)?.[1]);
  assert.ok(size * 0.6 * long.length <= 760 - 20, `title at ${size}px fits 760px`);
});
