import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// `source` resolves the `#schemas/*` imports to the TypeScript sources (no build needed).
const conditions = ['source', 'node', 'default'];

// Files that start processes of their own (the CLI through tsx, workers, several gateways behind
// nginx, Chromium): they run after the rest, one file at a time, so that their start-up
// deadlines are not spent waiting for a core that the other test files hold.
const PROCESS_TESTS = [
  'test/browser/**/*.test.ts',
  'test/multi-instance/**/*.test.ts',
  'test/integration/{api-key-file,cli,first-five-minutes,fuzz,keys-budget-cli,keys-cli,framing-check-in-worker,operator-cli,postgres-ledger,secret-redaction,usage-cli,workers,workers-shared-view}.test.ts',
];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    reporters: ['default', './test/reporters/summary-line.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // A scratch home directory per test file (the default usage database goes there, never to the user's).
    setupFiles: ['./test/helpers/scratch-home.ts'],
    // Vitest's default, one file at a time per core but one, except on 2 cores: two there, so that
    // files waiting on timers and sockets overlap (the processes project below still runs one at a
    // time). Three were ~15 s faster on a quiet 2-core machine, but at a load average of 5-10 two
    // timing tests (upstream-body, abort-many) failed in 9 runs.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Not isolated: a worker imports the gateway once, not once per file (isolated, the in-process
    // files took three times the CPU). The gateway is built to run many apps in one process
    // (src/core/secrets.ts, process-metrics.ts); the tests restore what they change in the
    // process (HOME, process.env, fake timers), and pass in one process in any order.
    isolate: false,
    projects: [
      { extends: true, test: { name: 'in-process', include: ['test/**/*.test.ts'], exclude: PROCESS_TESTS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'processes', include: PROCESS_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
