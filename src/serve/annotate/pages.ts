/**
 * The pages' static files (plain HTML, CSS and vanilla JS; no build step), read once at start-up
 * from src/serve/annotate/static (found from the compiled file in dist/ as well).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export function staticDir(): string {
  const here = fileURLToPath(new URL('./static/', import.meta.url));
  if (existsSync(here)) return here;
  // Compiled: dist/src/serve/annotate/ → src/serve/annotate/static
  const src = here.replace(/[\\/]dist[\\/]src[\\/]/, '/src/');
  if (existsSync(src)) return src;
  throw new Error(`annotation pages not found (looked in ${here} and ${src})`);
}

export function loadStaticAssets(): Map<string, { type: string; body: string }> {
  const dir = staticDir();
  const out = new Map<string, { type: string; body: string }>();
  for (const f of readdirSync(dir)) {
    const type = TYPES[extname(f)];
    if (type !== undefined) out.set(f, { type, body: readFileSync(join(dir, f), 'utf8') });
  }
  return out;
}
