/**
 * Dependency-free SVG line/scatter plots for reports: linear or log axes, one colour per series,
 * optional shaded bands (e.g. 95% CIs), a legend. Output is a standalone SVG string.
 */

export interface Series {
  label: string;
  x: number[];
  y: number[];
  /** Optional band (same length as x), drawn shaded behind the line. */
  lo?: number[];
  hi?: number[];
  /** 'line' (default) joins points; 'points' draws markers only. */
  style?: 'line' | 'points';
  dashed?: boolean;
  /** SVG stroke-dasharray of the line (e.g. '2 3'); overrides `dashed`. */
  dash?: string;
  /** Marker shape at each point (default circle). */
  marker?: Marker;
}

export type Marker = 'circle' | 'square' | 'triangle' | 'diamond';
export const MARKERS: readonly Marker[] = ['circle', 'square', 'triangle', 'diamond'];
/** Dash patterns that stay distinguishable when two series lie on top of each other. */
export const DASHES: readonly string[] = ['', '8 4', '2 3', '10 3 2 3', '5 2', '1 4'];

/** One marker as SVG at (x, y). */
function markerSvg(shape: Marker, x: number, y: number, colour: string): string {
  const X = x.toFixed(1);
  const Y = y.toFixed(1);
  const r = 3.5;
  if (shape === 'square')
    return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="none" stroke="${colour}" stroke-width="1.5"/>`;
  if (shape === 'triangle')
    return `<polygon points="${X},${(y - r - 1).toFixed(1)} ${(x - r).toFixed(1)},${(y + r).toFixed(1)} ${(x + r).toFixed(1)},${(y + r).toFixed(1)}" fill="${colour}"/>`;
  if (shape === 'diamond')
    return `<polygon points="${X},${(y - r - 1).toFixed(1)} ${(x + r).toFixed(1)},${Y} ${X},${(y + r + 1).toFixed(1)} ${(x - r).toFixed(1)},${Y}" fill="none" stroke="${colour}" stroke-width="1.5"/>`;
  return `<circle cx="${X}" cy="${Y}" r="3" fill="${colour}"/>`;
}

/*
 * Conventions: a series with no point on the x axis (e.g. π0 at 0 labels on a log-x
 * axis) but a finite y is drawn as a dashed horizontal reference line at its mean y, so every
 * legend entry is visible; confidence bands never stretch the y axis by more than half the data's
 * span on each side (they are clipped to the plot box); an x axis whose data are all integers
 * gets integer ticks; a long title shrinks to fit the width.
 */

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

export function linePlot(series: Series[], opts: PlotOptions): string {
  const W = opts.width ?? 760;
  const H = opts.height ?? 440;
  // Right margin sized to the longest legend label (~6.5 px per character at 12 px).
  const longest = Math.max(0, ...series.map((s) => s.label.length));
  const m = { l: 70, r: Math.max(150, Math.round(6.5 * longest) + 50), t: 40, b: 55 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const tx = (v: number) => (opts.logX ? Math.log10(v) : v);
  const ty = (v: number) => (opts.logY ? Math.log10(v) : v);
  const ok = (v: number, log?: boolean) => Number.isFinite(v) && (!log || v > 0);

  const xs: number[] = [];
  const ys: number[] = [];
  const bandYs: number[] = [];
  const refY = new Map<number, number>(); // series index → y of its reference line
  series.forEach((s, k) => {
    let any = false;
    s.x.forEach((v, i) => {
      if (!ok(v, opts.logX) || !ok(s.y[i], opts.logY)) return;
      any = true;
      xs.push(tx(v));
      ys.push(ty(s.y[i]));
      if (s.lo && ok(s.lo[i], opts.logY)) bandYs.push(ty(s.lo[i]));
      if (s.hi && ok(s.hi[i], opts.logY)) bandYs.push(ty(s.hi[i]));
    });
    const finiteY = s.y.filter((v) => ok(v, opts.logY));
    if (!any && finiteY.length) {
      const y = finiteY.reduce((a, b) => a + b, 0) / finiteY.length;
      refY.set(k, y);
      ys.push(ty(y));
    }
  });
  let [x0, x1] = extent(xs);
  let [y0, y1] = extentWithBands(ys, bandYs);
  if (!opts.logX) [x0, x1] = pad(x0, x1);
  if (!opts.logY) [y0, y1] = pad(y0, y1);
  else [y0, y1] = [y0 - 0.05 * (y1 - y0 || 1), y1 + 0.05 * (y1 - y0 || 1)];
  const sx = (v: number) => m.l + ((tx(v) - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => m.t + ph - ((ty(v) - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<clipPath id="plot-area"><rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}"/></clipPath>`);
  // ~0.6 em per character in bold Helvetica: shrink a long title to the image width.
  const titleSize = Math.max(9, Math.min(15, Math.floor((W - 20) / (0.6 * Math.max(1, opts.title.length)))));
  out.push(
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="${titleSize}" font-weight="bold">${esc(opts.title)}</text>`,
  );
  // Grid and ticks
  const integerX = !opts.logX && xs.length > 0 && xs.every((v) => Number.isInteger(v));
  for (const t of ticks(x0, x1, Boolean(opts.logX), integerX)) {
    const X = m.l + ((t.pos - x0) / (x1 - x0)) * pw;
    out.push(`<line x1="${X}" y1="${m.t}" x2="${X}" y2="${m.t + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${X}" y="${m.t + ph + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  for (const t of ticks(y0, y1, Boolean(opts.logY))) {
    const Y = m.t + ph - ((t.pos - y0) / (y1 - y0)) * ph;
    out.push(`<line x1="${m.l}" y1="${Y}" x2="${m.l + pw}" y2="${Y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${Y + 4}" text-anchor="end">${esc(t.label)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  // Series
  series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const idx = s.x.map((_, i) => i).filter((i) => ok(s.x[i], opts.logX) && ok(s.y[i], opts.logY));
    if (s.lo && s.hi) {
      const band = idx.filter((i) => ok(s.lo![i], opts.logY) && ok(s.hi![i], opts.logY));
      if (band.length > 1) {
        const upper = band.map((i) => `${sx(s.x[i]).toFixed(1)},${sy(s.hi![i]).toFixed(1)}`);
        const lower = band
          .slice()
          .reverse()
          .map((i) => `${sx(s.x[i]).toFixed(1)},${sy(s.lo![i]).toFixed(1)}`);
        out.push(
          `<polygon points="${[...upper, ...lower].join(' ')}" fill="${colour}" fill-opacity="0.15" stroke="none" clip-path="url(#plot-area)"/>`,
        );
      } else {
        for (const i of band) {
          const X = sx(s.x[i]).toFixed(1);
          out.push(
            `<line x1="${X}" y1="${sy(s.lo![i]).toFixed(1)}" x2="${X}" y2="${sy(s.hi![i]).toFixed(1)}" stroke="${colour}" clip-path="url(#plot-area)"/>`,
          );
        }
      }
    }
    const ref = refY.get(k);
    if (ref !== undefined) {
      const Y = sy(ref).toFixed(1);
      out.push(
        `<line x1="${m.l}" y1="${Y}" x2="${m.l + pw}" y2="${Y}" stroke="${colour}" stroke-width="2" stroke-dasharray="6 4"/>`,
      );
    }
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : s.dashed ? ' stroke-dasharray="6 4"' : '';
    if ((s.style ?? 'line') === 'line' && idx.length > 1) {
      const pts = idx.map((i) => `${sx(s.x[i]).toFixed(1)},${sy(s.y[i]).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    }
    for (const i of idx) out.push(markerSvg(s.marker ?? 'circle', sx(s.x[i]), sy(s.y[i]), colour));
    const ly = m.t + 10 + k * 18;
    out.push(
      `<line x1="${m.l + pw + 12}" y1="${ly}" x2="${m.l + pw + 32}" y2="${ly}" stroke="${colour}" stroke-width="3"${s.dash ? dash : ''}/>`,
    );
    if (s.marker) out.push(markerSvg(s.marker, m.l + pw + 22, ly, colour));
    out.push(`<text x="${m.l + pw + 38}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function extent(v: number[]): [number, number] {
  if (v.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** The data's extent, widened by band values by at most half the data's span on each side. */
function extentWithBands(ys: number[], bands: number[]): [number, number] {
  if (ys.length === 0) return extent(bands);
  const [lo, hi] = extent(ys);
  const slack = 0.5 * (hi - lo);
  let blo = lo;
  let bhi = hi;
  for (const b of bands) {
    if (b < blo) blo = b;
    if (b > bhi) bhi = b;
  }
  return [Math.max(blo, lo - slack), Math.min(bhi, hi + slack)];
}

function pad(lo: number, hi: number): [number, number] {
  const p = 0.05 * (hi - lo);
  return [lo - p, hi + p];
}

interface Tick {
  pos: number;
  label: string;
}

/** Tick positions in transformed space. Log axes: powers of ten (plus 2 and 5 when the range is short). */
export function ticks(lo: number, hi: number, log: boolean, integer = false): Tick[] {
  const out: Tick[] = [];
  if (log) {
    const span = hi - lo;
    const mults = span < 2.5 ? [1, 2, 5] : [1];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const mm of mults) {
        const pos = e + Math.log10(mm);
        if (pos >= lo - 1e-9 && pos <= hi + 1e-9) out.push({ pos, label: fmtTick(mm * 10 ** e) });
      }
    }
    return out;
  }
  const step = integer ? Math.max(1, niceStep((hi - lo) / 6)) : niceStep((hi - lo) / 6);
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) {
    out.push({ pos: v, label: fmtTick(Math.abs(v) < step * 1e-9 ? 0 : v) });
  }
  return out;
}

function niceStep(raw: number): number {
  const e = Math.floor(Math.log10(raw));
  const f = raw / 10 ** e;
  const nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nf * 10 ** e;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
  return Number(v.toPrecision(4)).toString();
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
