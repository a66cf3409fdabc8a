/**
 * Each test file runs with a scratch home directory (vitest setupFiles): what a test writes
 * there, such as the default usage database of a gateway built with default settings, never
 * reaches the user's home, and files running at once never share one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'ollama-bridge-test-home-'));
const previous = process.env.HOME;
process.env.HOME = home;

afterAll(() => {
  process.env.HOME = previous;
  rmSync(home, { recursive: true, force: true });
});
