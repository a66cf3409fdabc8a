// Builds the admin page (Preact + TypeScript) into dist/admin-page, served by the gateway at /admin/.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Writes `.br` and `.gz` beside each text file, which the gateway sends to clients that accept them. */
const precompress: Plugin = {
  name: 'ollama-bridge-precompress',
  apply: 'build',
  writeBundle(options, bundle) {
    for (const fileName of Object.keys(bundle)) {
      if (!/\.(js|css|html)$/.test(fileName)) continue;
      const path = join(options.dir ?? '', fileName);
      const data = readFileSync(path);
      writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } }));
      writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
    }
  },
};

export default defineConfig({
  plugins: [precompress],
  root: here('.'),
  // Relative asset URLs: the page works under /admin/ (or any prefix a proxy adds).
  base: './',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/admin-page'),
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles (the server sends a CSP `default-src 'self'`).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
