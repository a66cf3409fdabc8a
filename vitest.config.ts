import { defineConfig } from 'vitest/config';

// `source` resolves the `#schemas/*` imports to the TypeScript sources (no build needed).
const conditions = ['source', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/reporters/summary-line.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // A scratch home directory per test file (the default usage database goes there, never to the user's).
    setupFiles: ['./test/helpers/scratch-home.ts'],
  },
});
