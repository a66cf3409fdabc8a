/**
 * The chunk framing check in a worker of `--workers`: its server gets a port of its own. A
 * server listening through the primary on port 0 would share the handle of a gateway started
 * with `--port 0` on the same address, take some of the gateway's clients (and close on them)
 * and send its own request to the other workers.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../helpers/framing-check-in-cluster.ts', import.meta.url));

describe('the chunk framing check in a cluster worker', () => {
  it('passes each time and sends nothing to the port another worker shares', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', SCRIPT], { encoding: 'utf8', timeout: 60_000 });
    const { checks, received } = JSON.parse(output.trim().split('\n').at(-1)!) as { checks: { direct: boolean }[]; received: number };
    expect(checks).toHaveLength(8);
    expect(checks.every((check) => check.direct)).toBe(true);
    expect(received).toBe(0);
  }, 90_000);
});
