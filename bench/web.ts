/**
 * npm run bench -- web: the dashboard's first-load weight. Builds web/ into dist/web/, then
 * prints the size of what index.html loads before the first page shows (its scripts,
 * module preloads and style sheets), raw and gzipped, against the 300 kB gzipped target.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist', 'web');
/** Gzipped bytes of the initial JS + CSS the dashboard may take (issue 8). */
const TARGET_GZIP_BYTES = 300 * 1000;

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

/** The local files index.html loads up front: `<script src>`, `<link rel=modulepreload|stylesheet>`. */
function initialAssets(html: string): string[] {
  const found = new Set<string>();
  for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) if (m[1]) found.add(m[1]);
  for (const m of html.matchAll(/<link[^>]*\srel="(?:modulepreload|stylesheet)"[^>]*\shref="([^"]+)"/g)) if (m[1]) found.add(m[1]);
  return [...found].filter((href) => href.startsWith('/'));
}

export async function runWebBench(): Promise<void> {
  await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
  const html = readFileSync(join(OUT, 'index.html'));
  const rows = [{ file: 'index.html', raw: html.length, gzip: gzipSync(html, { level: 9 }).length }];
  for (const href of initialAssets(html.toString('utf8'))) {
    const bytes = readFileSync(join(OUT, href));
    rows.push({ file: href.slice(1), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
  }
  const assets = rows.slice(1);
  const total = { raw: assets.reduce((s, r) => s + r.raw, 0), gzip: assets.reduce((s, r) => s + r.gzip, 0) };
  console.log('dashboard first load (dist/web):');
  for (const r of rows) console.log(`  ${r.file.padEnd(40)} ${kB(r.raw).padStart(10)} raw ${kB(r.gzip).padStart(10)} gzip`);
  console.log(
    `  initial JS + CSS: ${kB(total.raw)} raw, ${kB(total.gzip)} gzipped (target ≤ ${kB(TARGET_GZIP_BYTES)}: ${total.gzip <= TARGET_GZIP_BYTES ? 'within' : 'OVER'})`,
  );
}
