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
