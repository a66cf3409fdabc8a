/**
 * The Live feed with peers (the other workers of `--workers`), against a scripted peer: nothing
 * is sent to peers unless one wants it; a follower gets every process's recent requests, then
 * each new one exactly once, even those heard while the recent ones were being gathered.
 */
import { describe, expect, it } from 'vitest';
import type { LiveRequest } from '../../src/admin/api-types.js';
import { LiveRequests, type LiveEvent, type LivePeers, type LiveReport } from '../../src/admin/live-requests.js';
import { UsageEvents } from '../../src/usage/usage-record.js';
import { usageRecord } from '../helpers/usage-records.js';

class ScriptedPeers implements LivePeers {
  readonly source = 'here';
  wanted = false;
  readonly published: LiveEvent[] = [];
  readonly followingCalls: boolean[] = [];
  private reporter: (() => LiveReport) | undefined;
  private listener: ((event: LiveEvent) => void) | undefined;
  private readonly pendingReports: Array<(reports: LiveReport[]) => void> = [];

  reports(): Promise<LiveReport[]> {
    return new Promise((resolve) => this.pendingReports.push(resolve));
  }
  answerReports(reporter: () => LiveReport): void {
    this.reporter = reporter;
  }
  following(on: boolean): void {
    this.followingCalls.push(on);
  }
  publish(event: LiveEvent): void {
    this.published.push(event);
  }
  onEvent(listener: (event: LiveEvent) => void): void {
    this.listener = listener;
  }

  /** A peer's request arrives. */
  hear(event: LiveEvent): void {
    this.listener?.(event);
  }
  /** The gather returns these reports. */
  answer(reports: LiveReport[]): void {
    for (const resolve of this.pendingReports.splice(0)) resolve(reports);
  }
  ownReport(): LiveReport {
    return this.reporter!();
  }
}

const at = (second: number): number => Date.parse('2026-05-04T10:00:00Z') + second * 1000;

function request(route: string, second: number): LiveRequest {
  return {
    at: new Date(at(second)).toISOString(), method: 'POST', route, model: null, modelServed: null, keyName: null, status: 200, outcome: 'completed',
    promptTokens: 1, completionTokens: 1, costUsd: 0, timeToFirstTokenMs: null, durationMs: 0,
  };
}

function setUp(): { events: UsageEvents; peers: ScriptedPeers; live: LiveRequests } {
  const events = new UsageEvents(() => undefined);
  const peers = new ScriptedPeers();
  return { events, peers, live: new LiveRequests(events, peers) };
}

describe('LiveRequests with peers', () => {
  it('sends a peer nothing while no peer wants requests, each one while one does', () => {
    const { events, peers } = setUp();
    events.emit(usageRecord({ route: '/api/chat', durationMs: 0 }));
    expect(peers.published).toEqual([]);
    peers.wanted = true;
    events.emit(usageRecord({ route: '/api/generate', durationMs: 0 }));
    expect(peers.published).toMatchObject([{ source: 'here', seq: 2, request: { route: '/api/generate' } }]);
    // What it answers a peer's gather: its own requests, numbered.
    expect(peers.ownReport()).toMatchObject({ source: 'here', seq: 2, recent: [{ route: '/api/chat' }, { route: '/api/generate' }], lastUsedByKey: [['key-1', expect.any(Number)]] });
  });

  it("a follower gets every process's recent requests in answer order, then each new one once: a peer's request heard during the gather only if its report did not hold it", async () => {
    const { events, peers, live } = setUp();
    events.emit(usageRecord({ route: '/own-before', startedAt: at(1), durationMs: 0 }));
    const seen: string[] = [];
    const stop = live.follow((sent) => seen.push(sent.route));
    expect(peers.followingCalls).toEqual([true]);
    // While the gather is out: one of this process's, and two of the peer's (its 3rd, in its report, and its 4th, not).
    events.emit(usageRecord({ route: '/own-during', startedAt: at(4), durationMs: 0 }));
    peers.hear({ source: 'other', seq: 3, request: request('/other-3', 3) });
    peers.hear({ source: 'other', seq: 4, request: request('/other-4', 5) });
    expect(seen).toEqual([]);
    peers.answer([{ source: 'other', seq: 3, recent: [request('/other-1', 0), request('/other-2', 2), request('/other-3', 3)], lastUsedByKey: [] }]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['/other-1', '/own-before', '/other-2', '/other-3', '/own-during', '/other-4']);
    events.emit(usageRecord({ route: '/own-after', startedAt: at(6), durationMs: 0 }));
    peers.hear({ source: 'other', seq: 5, request: request('/other-5', 7) });
    expect(seen.slice(-2)).toEqual(['/own-after', '/other-5']);
    stop();
    expect(peers.followingCalls).toEqual([true, false]);
  });

  it("recent() and lastUsedByKey() merge every process's: the last 100 requests, each key's latest use", async () => {
    const { events, peers, live } = setUp();
    events.emit(usageRecord({ keyId: 'shared', startedAt: at(1), durationMs: 0 }));
    const recent = live.recent();
    peers.answer([{ source: 'other', seq: 1, recent: [request('/other', 2)], lastUsedByKey: [['shared', at(2)], ['theirs', at(0)]] }]);
    expect((await recent).map((listed) => listed.route)).toEqual(['/api/chat', '/other']);
    const lastUsed = live.lastUsedByKey();
    peers.answer([{ source: 'other', seq: 1, recent: [], lastUsedByKey: [['shared', at(2)], ['theirs', at(0)]] }]);
    expect(Object.fromEntries(await lastUsed)).toEqual({ shared: at(2), theirs: at(0) });
  });
});
