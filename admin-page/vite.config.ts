// Builds the admin page (Preact + TypeScript) into dist/admin-page, served by the gateway at /admin/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
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
