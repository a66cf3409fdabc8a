import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// `source` resolves the `#schemas/*` imports to the TypeScript sources (no build needed).
const conditions = ['source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/reporters/summary-line.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // What a test writes to the home directory (the default usage database) goes to a scratch folder, never the user's.
    env: { HOME: join(tmpdir(), 'ollama-bridge-test-home') },
  },
});
